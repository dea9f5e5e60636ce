//! How a synapse request is signed. The caller's hotkey signs
//! `blake3("tensorchain/synapse/v1" ‖ borsh(receiver, netuid, synapse, timestamp_ms, nonce, blake3(body)))`:
//! bound to one axon (a request replayed to another axon fails its signature), one subnet, one
//! synapse, one moment and one body. The four values travel as headers beside the JSON body.

use tensorchain_primitives::{AccountId, Hash, Keypair, Signature};

pub const HEADER_HOTKEY: &str = "x-tensorchain-hotkey";
pub const HEADER_TIMESTAMP: &str = "x-tensorchain-timestamp-ms";
pub const HEADER_NONCE: &str = "x-tensorchain-nonce";
pub const HEADER_SIGNATURE: &str = "x-tensorchain-signature";

const DOMAIN: &[u8] = b"tensorchain/synapse/v1";

/// What identifies one signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAuth {
    pub caller: AccountId,
    pub timestamp_ms: u64,
    pub nonce: u64,
    pub signature: Signature,
}

pub fn signing_hash(
    receiver: &AccountId,
    netuid: u16,
    synapse: &str,
    timestamp_ms: u64,
    nonce: u64,
    body: &[u8],
) -> Hash {
    let body_hash = Hash::digest(body);
    let fields = borsh::to_vec(&(receiver, netuid, synapse, timestamp_ms, nonce, body_hash))
        .expect("borsh to vec");
    Hash::digest_parts(DOMAIN, &[&fields])
}

/// Signs a request of `key` to the axon of `receiver`.
pub fn sign(
    key: &Keypair,
    receiver: &AccountId,
    netuid: u16,
    synapse: &str,
    timestamp_ms: u64,
    nonce: u64,
    body: &[u8],
) -> RequestAuth {
    let hash = signing_hash(receiver, netuid, synapse, timestamp_ms, nonce, body);
    RequestAuth {
        caller: key.account(),
        timestamp_ms,
        nonce,
        signature: key.sign(hash.as_bytes()),
    }
}

impl RequestAuth {
    /// The header values, in the order of the `HEADER_*` constants.
    pub fn headers(&self) -> [(&'static str, String); 4] {
        [
            (HEADER_HOTKEY, self.caller.to_ss58()),
            (HEADER_TIMESTAMP, self.timestamp_ms.to_string()),
            (HEADER_NONCE, self.nonce.to_string()),
            (HEADER_SIGNATURE, self.signature.to_hex()),
        ]
    }

    /// Parses the headers (`get` looks one up); `None` if any is missing or malformed.
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<RequestAuth> {
        let caller = get(HEADER_HOTKEY)?.parse().ok()?;
        let timestamp_ms = get(HEADER_TIMESTAMP)?.parse().ok()?;
        let nonce = get(HEADER_NONCE)?.parse().ok()?;
        let sig = get(HEADER_SIGNATURE)?;
        let bytes = hex::decode(sig.strip_prefix("0x").unwrap_or(sig)).ok()?;
        let signature = Signature(bytes.try_into().ok()?);
        Some(RequestAuth {
            caller,
            timestamp_ms,
            nonce,
            signature,
        })
    }

    pub fn verify(&self, receiver: &AccountId, netuid: u16, synapse: &str, body: &[u8]) -> bool {
        let hash = signing_hash(
            receiver,
            netuid,
            synapse,
            self.timestamp_ms,
            self.nonce,
            body,
        );
        self.caller.verify(hash.as_bytes(), &self.signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_binds_receiver_synapse_and_body() {
        let (caller, axon, other) = (Keypair::dev("v"), Keypair::dev("m"), Keypair::dev("o"));
        let a = sign(&caller, &axon.account(), 1, "ping", 5, 7, b"{}");
        let headers = a.headers();
        let parsed = RequestAuth::from_headers(|name| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        })
        .unwrap();
        assert_eq!(parsed, a);
        assert!(a.verify(&axon.account(), 1, "ping", b"{}"));
        assert!(!a.verify(&other.account(), 1, "ping", b"{}"));
        assert!(!a.verify(&axon.account(), 2, "ping", b"{}"));
        assert!(!a.verify(&axon.account(), 1, "pong", b"{}"));
        assert!(!a.verify(&axon.account(), 1, "ping", b"{ }"));
    }
}

//! Transactions: `{chain_id, signer, nonce, fee, call}`, borsh-encoded and signed over
//! `blake3("tensorchain/tx/v1" ‖ borsh(tx))`. The tx hash is blake3 of the signed bytes.

use crate::hash::Hash;
use crate::keys::{AccountId, Keypair, Signature, SignatureError};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;

const TX_DOMAIN: &[u8] = b"tensorchain/tx/v1";

/// The calls a transaction can make. Variants are only ever appended: the borsh tag of a call is
/// part of the protocol.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    Transfer {
        to: AccountId,
        #[serde(with = "crate::amount::as_string")]
        amount: u64,
    },
    /// Moves free balance of the signer (a coldkey) into stake behind `hotkey`.
    AddStake {
        hotkey: AccountId,
        #[serde(with = "crate::amount::as_string")]
        amount: u64,
    },
    /// Moves the signer's stake behind `hotkey` back to its free balance.
    RemoveStake {
        hotkey: AccountId,
        #[serde(with = "crate::amount::as_string")]
        amount: u64,
    },
    /// Sets the share of validator dividends the hotkey's owner keeps (u16 / 65535).
    SetTake { hotkey: AccountId, take: u16 },
    /// Creates a subnet owned by the signer, burning the lock cost; `hotkey` becomes its uid 0.
    RegisterSubnet {
        hotkey: AccountId,
        #[serde(with = "crate::amount::as_string")]
        max_cost: u64,
        identity: String,
    },
    /// Registers `hotkey` (owned by the signing coldkey) on a subnet, burning the current price.
    BurnedRegister {
        netuid: u16,
        hotkey: AccountId,
        #[serde(with = "crate::amount::as_string")]
        max_cost: u64,
    },
    /// Sets a subnet hyperparameter (the subnet owner, or the chain's sudo key).
    SetHyperparameter {
        netuid: u16,
        name: String,
        value: u64,
    },
    /// Signed by a registered hotkey: where its miner or validator serves.
    ServeAxon {
        netuid: u16,
        ip: [u8; 16],
        port: u16,
        protocol: u8,
    },
    /// Signed by a registered hotkey: its scores of other uids.
    SetWeights {
        netuid: u16,
        uids: Vec<u16>,
        values: Vec<u16>,
        version_key: u64,
    },
    /// Signed by the coldkey: puts its hotkey in the root network (top stakes, capacity 64).
    RootRegister { hotkey: AccountId },
    /// Signed by a registered hotkey when commit-reveal is on: a hash of weights to reveal next epoch.
    CommitWeights { netuid: u16, hash: Hash },
    /// Reveals committed weights: the same fields that were hashed.
    RevealWeights {
        netuid: u16,
        uids: Vec<u16>,
        values: Vec<u16>,
        salt: Vec<u8>,
        version_key: u64,
    },
    /// Signed by a root hotkey: how the block reward should be split among subnets.
    SetRootWeights { netuids: Vec<u16>, values: Vec<u16> },
    /// Signed by the hotkey's owner: offer the hotkey as a chain validator, ranked by its stake.
    RegisterValidator { hotkey: AccountId },
    /// Signed by the hotkey's owner: leave the validator set at the next recomputation.
    UnregisterValidator { hotkey: AccountId },
    /// Anyone may report a validator that signed two conflicting votes; it is jailed and slashed.
    ReportEquivocation {
        evidence: Box<crate::block::DoubleSign>,
    },
    /// Signed by `hotkey`, free: registers it on a subnet that registers by proof of work.
    /// `nonce` makes `pow::work(Register, genesis, hash of block_number, hotkey, coldkey, nonce)`
    /// meet the subnet's difficulty; `block_number` must be one of the last few blocks.
    PowRegister {
        netuid: u16,
        hotkey: AccountId,
        coldkey: AccountId,
        block_number: u64,
        nonce: u64,
    },
    /// Devnets only, free: pays the chain's faucet amount to `coldkey` (the signer) for work
    /// `pow::work(Faucet, genesis, hash of block_number, coldkey, coldkey, nonce)`.
    Faucet { block_number: u64, nonce: u64 },
    /// Signed by the coldkey that owns `old`: everything `old` holds (stake and nominations, take,
    /// subnet registrations with their axons, root membership, validator candidacy) moves to
    /// `new`, which must be unused. Burns the key-swap cost; one swap per coldkey per cool-down.
    SwapHotkey { old: AccountId, new: AccountId },
    /// Moves the signer's stake from one hotkey to another without passing through free balance.
    MoveStake {
        from_hotkey: AccountId,
        to_hotkey: AccountId,
        #[serde(with = "crate::amount::as_string")]
        amount: u64,
    },
    /// Gives the signer's stake behind `hotkey` to another coldkey, still bonded to `hotkey`.
    TransferStake {
        hotkey: AccountId,
        dest: AccountId,
        #[serde(with = "crate::amount::as_string")]
        amount: u64,
    },
    /// Unstakes all of the signer's stake behind `hotkey`, whatever it is when the block runs
    /// (emission may have added to it since the client looked): exactly zero remains.
    RemoveAllStake { hotkey: AccountId },
}

impl Call {
    /// The call's stable name, used for fee lookup and display.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Transfer { .. } => "transfer",
            Call::AddStake { .. } => "add_stake",
            Call::RemoveStake { .. } => "remove_stake",
            Call::SetTake { .. } => "set_take",
            Call::RegisterSubnet { .. } => "register_subnet",
            Call::BurnedRegister { .. } => "burned_register",
            Call::SetHyperparameter { .. } => "set_hyperparameter",
            Call::ServeAxon { .. } => "serve_axon",
            Call::SetWeights { .. } => "set_weights",
            Call::RootRegister { .. } => "root_register",
            Call::SetRootWeights { .. } => "set_root_weights",
            Call::CommitWeights { .. } => "commit_weights",
            Call::RevealWeights { .. } => "reveal_weights",
            Call::RegisterValidator { .. } => "register_validator",
            Call::UnregisterValidator { .. } => "unregister_validator",
            Call::ReportEquivocation { .. } => "report_equivocation",
            Call::PowRegister { .. } => "pow_register",
            Call::Faucet { .. } => "faucet",
            Call::SwapHotkey { .. } => "swap_hotkey",
            Call::MoveStake { .. } => "move_stake",
            Call::TransferStake { .. } => "transfer_stake",
            Call::RemoveAllStake { .. } => "remove_all_stake",
        }
    }
}

/// The hash a `commit_weights` carries, bound to the hotkey and subnet:
/// blake3("tensorchain/weights-commit/v1" ‖ borsh(hotkey, netuid, uids, values, salt, version_key)).
pub fn weights_commit_hash(
    hotkey: &AccountId,
    netuid: u16,
    uids: &[u16],
    values: &[u16],
    salt: &[u8],
    version_key: u64,
) -> Hash {
    let body =
        borsh::to_vec(&(hotkey, netuid, uids, values, salt, version_key)).expect("borsh to vec");
    Hash::digest_parts(b"tensorchain/weights-commit/v1", &[&body])
}

/// The largest transaction, borsh-encoded, that is valid. The largest honest one is a weight
/// vector over a full subnet (4096 uids × 4 bytes = 16 KiB); REST bodies are capped at 64 KiB.
pub const MAX_TX_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Tx {
    pub chain_id: String,
    pub signer: AccountId,
    pub nonce: u64,
    #[serde(with = "crate::amount::as_string")]
    pub fee: u64,
    pub call: Call,
}

impl Tx {
    /// The digest that is signed: domain-separated so a tx signature can never pass as a vote's.
    pub fn signing_hash(&self) -> Hash {
        Hash::digest_parts(TX_DOMAIN, &[&borsh::to_vec(self).expect("borsh to vec")])
    }

    pub fn sign(self, key: &Keypair) -> SignedTx {
        let signature = key.sign(self.signing_hash().as_bytes());
        SignedTx {
            tx: self,
            signature,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct SignedTx {
    pub tx: Tx,
    pub signature: Signature,
}

impl SignedTx {
    pub fn to_bytes(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("borsh to vec")
    }

    pub fn hash(&self) -> Hash {
        Hash::digest(&self.to_bytes())
    }

    pub fn verify_signature(&self) -> Result<(), SignatureError> {
        self.tx
            .signer
            .verify(self.tx.signing_hash().as_bytes(), &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SignedTx {
        let alice = Keypair::dev("alice");
        Tx {
            chain_id: "tensorchain-devnet".into(),
            signer: alice.account(),
            nonce: 0,
            fee: 100,
            call: Call::Transfer {
                to: Keypair::dev("bob").account(),
                amount: 5,
            },
        }
        .sign(&alice)
    }

    #[test]
    fn borsh_round_trip_and_signature() {
        let stx = sample();
        let bytes = stx.to_bytes();
        let back = SignedTx::try_from_slice(&bytes).unwrap();
        assert_eq!(back, stx);
        assert_eq!(back.hash(), stx.hash());
        assert!(back.verify_signature().is_ok());
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let mut stx = sample();
        stx.tx.nonce = 1;
        assert_eq!(stx.verify_signature(), Err(SignatureError::BadSignature));
    }

    #[test]
    fn encoding_layout_is_stable() {
        // chain_id (u32 len + bytes) | signer 32 | nonce u64 | fee u64 | call tag u8 | to 32 | amount u64
        let stx = sample();
        let bytes = borsh::to_vec(&stx.tx).unwrap();
        assert_eq!(bytes.len(), 4 + 18 + 32 + 8 + 8 + 1 + 32 + 8);
        assert_eq!(bytes[4 + 18 + 32 + 16], 0, "transfer is call tag 0");
    }
}

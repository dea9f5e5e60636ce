//! Transactions: `{chain_id, signer, nonce, fee, call}`, borsh-encoded and signed over
//! `blake3("tensorchain/tx/v2" ‖ genesis hash ‖ borsh(tx))` (see `SigningDomain`). The tx hash
//! is blake3 of the signed bytes.

use crate::domain::SigningDomain;
use crate::hash::Hash;
use crate::keys::{AccountId, Keypair, Signature, SignatureError};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;

/// v2 mixes the genesis hash in (v1 covered the chain id only, so a network reusing a chain id
/// accepted another's transactions).
const TX_DOMAIN: &[u8] = b"tensorchain/tx/v2";

/// The calls a transaction can make. Variants are only ever appended: the borsh tag of a call is
/// part of the protocol.
///
/// `Call::name` and the `CallKind` list are derived from the variants (strum), so a new call needs
/// only its variant here and its arm in `CallKind::fee_class`.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumDiscriminants,
)]
#[serde(tag = "call", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[strum_discriminants(
    name(CallKind),
    derive(strum::IntoStaticStr, strum::EnumIter, Hash, PartialOrd, Ord),
    strum(serialize_all = "snake_case")
)]
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
    /// The call's snake_case name, as in its JSON `call` tag.
    pub fn name(&self) -> &'static str {
        self.into()
    }

    pub fn kind(&self) -> CallKind {
        self.into()
    }

    pub fn fee_class(&self) -> FeeClass {
        self.kind().fee_class()
    }
}

/// Which of the chain's fixed fees (`ChainParams::fees`) a call pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeClass {
    Transfer,
    Staking,
    Subnet,
    /// Free: signed by hotkeys that may hold no TAO; work, rate limits or validity bound them.
    Free,
}

impl CallKind {
    /// Every call kind, in variant (borsh tag) order.
    pub fn all() -> impl Iterator<Item = CallKind> {
        <CallKind as strum::IntoEnumIterator>::iter()
    }

    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn fee_class(self) -> FeeClass {
        use CallKind as K;
        match self {
            K::Transfer => FeeClass::Transfer,
            K::AddStake | K::RemoveStake | K::SetTake => FeeClass::Staking,
            K::RegisterSubnet | K::BurnedRegister | K::SetHyperparameter | K::RootRegister => {
                FeeClass::Subnet
            }
            K::ServeAxon
            | K::SetWeights
            | K::SetRootWeights
            | K::CommitWeights
            | K::RevealWeights => FeeClass::Free,
            K::RegisterValidator | K::UnregisterValidator => FeeClass::Staking,
            // Evidence is free so any node's hotkey can report it; it only lands if it is valid.
            K::ReportEquivocation => FeeClass::Free,
            // A new miner's hotkey holds no TAO: work bounds these instead of a fee.
            K::PowRegister | K::Faucet => FeeClass::Free,
            // Wallet calls: the staking fee (a swap's burn is charged by the call itself).
            K::SwapHotkey | K::MoveStake | K::TransferStake | K::RemoveAllStake => {
                FeeClass::Staking
            }
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
    /// The digest that is signed: domain-separated so a tx signature can never pass as a vote's,
    /// and bound to `domain`'s genesis so it is valid on one network only.
    pub fn signing_hash(&self, domain: &SigningDomain) -> Hash {
        domain.digest(TX_DOMAIN, self)
    }

    pub fn sign(self, key: &Keypair, domain: &SigningDomain) -> SignedTx {
        let signature = key.sign(self.signing_hash(domain).as_bytes());
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

    /// Whether the signer signed this tx for `domain`'s network.
    pub fn verify_signature(&self, domain: &SigningDomain) -> Result<(), SignatureError> {
        self.tx
            .signer
            .verify(self.tx.signing_hash(domain).as_bytes(), &self.signature)
    }
}

/// `verify_signature` of each of `txs`, checked as one ZIP-215 batch (`verify_many`): each
/// answered exactly as it would be alone.
pub fn verify_signatures<'a>(
    txs: impl IntoIterator<Item = &'a SignedTx>,
    domain: &SigningDomain,
) -> Vec<Result<(), SignatureError>> {
    let txs: Vec<&SignedTx> = txs.into_iter().collect();
    let messages: Vec<Hash> = txs.iter().map(|stx| stx.tx.signing_hash(domain)).collect();
    let items: Vec<_> = txs
        .iter()
        .zip(&messages)
        .map(|(stx, m)| (stx.tx.signer, m.as_bytes().as_slice(), &stx.signature))
        .collect();
    crate::keys::verify_many(&items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> SigningDomain {
        SigningDomain::new("tensorchain-devnet", Hash::digest(b"genesis a"))
    }

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
        .sign(&alice, &domain())
    }

    #[test]
    fn borsh_round_trip_and_signature() {
        let stx = sample();
        let bytes = stx.to_bytes();
        let back = SignedTx::try_from_slice(&bytes).unwrap();
        assert_eq!(back, stx);
        assert_eq!(back.hash(), stx.hash());
        assert!(back.verify_signature(&domain()).is_ok());
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let mut stx = sample();
        stx.tx.nonce = 1;
        assert_eq!(
            stx.verify_signature(&domain()),
            Err(SignatureError::BadSignature)
        );
    }

    /// Finding 11 of the Byzantine-peers review: a tx signed for one network must not verify on
    /// another that uses the same chain id (a relaunched devnet, a testnet reusing an id).
    #[test]
    fn finding_11_a_tx_signed_for_another_genesis_does_not_verify() {
        let stx = sample();
        let same_id_other_genesis =
            SigningDomain::new("tensorchain-devnet", Hash::digest(b"genesis b"));
        assert_eq!(
            stx.verify_signature(&same_id_other_genesis),
            Err(SignatureError::BadSignature)
        );
        assert_ne!(
            stx.tx.signing_hash(&domain()),
            stx.tx.signing_hash(&same_id_other_genesis)
        );
    }

    /// The signed bytes, pinned: `"tensorchain/tx/v2"` ‖ genesis (32 raw bytes, not sent) ‖
    /// borsh(tx). Wallets and other implementations sign exactly this.
    #[test]
    fn the_tx_signing_hash_is_pinned() {
        let tx = Tx {
            chain_id: "tc".into(),
            signer: key(0xaa),
            nonce: 0x0102,
            fee: 100,
            call: Call::RemoveAllStake { hotkey: key(0xbb) },
        };
        let d = SigningDomain::new("tc", Hash([0xcc; 32]));
        let preimage = [
            hex::encode(b"tensorchain/tx/v2"),
            C.to_string(),
            [
                "02000000",
                "7463",
                A,
                "0201000000000000",
                "6400000000000000",
                "15",
                B,
            ]
            .concat(),
        ]
        .concat();
        assert_eq!(
            tx.signing_hash(&d),
            Hash::digest(&hex::decode(preimage).unwrap())
        );
        assert_eq!(
            tx.signing_hash(&d).to_hex(),
            "0x8919a80050712b819e8eed1cf11a567bbbf9c2498fbb535c7f20d5d0b7b732e7"
        );
    }

    // Golden borsh bytes: tx hashes, signatures and every stored block depend on them, so any
    // change to a call's tag, field order or field type must show up here as a failure.
    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    /// Signatures [0x51; 64] and [0x52; 64].
    const S1: &str = "51515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151";
    const S2: &str = "52525252525252525252525252525252525252525252525252525252525252525252525252525252525252525252525252525252525252525252525252525252";
    /// 0x0102030405060708, little-endian.
    const AMOUNT: &str = "0807060504030201";
    /// netuid 0x0a0b, little-endian.
    const NETUID: &str = "0b0a";

    fn key(byte: u8) -> AccountId {
        AccountId([byte; 32])
    }

    fn vote(block_hash: Option<Hash>) -> crate::block::Vote {
        crate::block::Vote {
            chain_id: "tc".into(),
            height: 5,
            round: 1,
            kind: crate::block::VoteKind::Precommit,
            block_hash,
        }
    }

    /// The borsh tag each call must have. The match has no wildcard, so a new variant does not
    /// compile until it is given a tag here, and then fails below until it has golden bytes.
    fn declared_tag(call: &Call) -> u8 {
        match call {
            Call::Transfer { .. } => 0,
            Call::AddStake { .. } => 1,
            Call::RemoveStake { .. } => 2,
            Call::SetTake { .. } => 3,
            Call::RegisterSubnet { .. } => 4,
            Call::BurnedRegister { .. } => 5,
            Call::SetHyperparameter { .. } => 6,
            Call::ServeAxon { .. } => 7,
            Call::SetWeights { .. } => 8,
            Call::RootRegister { .. } => 9,
            Call::CommitWeights { .. } => 10,
            Call::RevealWeights { .. } => 11,
            Call::SetRootWeights { .. } => 12,
            Call::RegisterValidator { .. } => 13,
            Call::UnregisterValidator { .. } => 14,
            Call::ReportEquivocation { .. } => 15,
            Call::PowRegister { .. } => 16,
            Call::Faucet { .. } => 17,
            Call::SwapHotkey { .. } => 18,
            Call::MoveStake { .. } => 19,
            Call::TransferStake { .. } => 20,
            Call::RemoveAllStake { .. } => 21,
        }
    }

    /// One call of every kind with its encoding, field by field (u16/u32/u64 little-endian;
    /// strings and vectors carry a u32 length; keys, hashes and signatures are raw bytes).
    fn goldens() -> Vec<(Call, Vec<&'static str>)> {
        let (a, b, c) = (key(0xaa), key(0xbb), Hash([0xcc; 32]));
        let amount = 0x0102030405060708;
        let netuid = 0x0a0b;
        vec![
            (Call::Transfer { to: a, amount }, vec!["00", A, AMOUNT]),
            (Call::AddStake { hotkey: a, amount }, vec!["01", A, AMOUNT]),
            (
                Call::RemoveStake { hotkey: a, amount },
                vec!["02", A, AMOUNT],
            ),
            (
                Call::SetTake {
                    hotkey: a,
                    take: 0x1234,
                },
                vec!["03", A, "3412"],
            ),
            (
                Call::RegisterSubnet {
                    hotkey: a,
                    max_cost: amount,
                    identity: "id".into(),
                },
                vec!["04", A, AMOUNT, "02000000", "6964"],
            ),
            (
                Call::BurnedRegister {
                    netuid,
                    hotkey: a,
                    max_cost: amount,
                },
                vec!["05", NETUID, A, AMOUNT],
            ),
            (
                Call::SetHyperparameter {
                    netuid,
                    name: "tempo".into(),
                    value: 360,
                },
                vec!["06", NETUID, "05000000", "74656d706f", "6801000000000000"],
            ),
            (
                Call::ServeAxon {
                    netuid,
                    ip: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
                    port: 8091,
                    protocol: 4,
                },
                vec![
                    "07",
                    NETUID,
                    "000102030405060708090a0b0c0d0e0f",
                    "9b1f",
                    "04",
                ],
            ),
            (
                Call::SetWeights {
                    netuid,
                    uids: vec![1, 2],
                    values: vec![65535, 7],
                    version_key: 9,
                },
                vec![
                    "08",
                    NETUID,
                    "02000000",
                    "0100",
                    "0200",
                    "02000000",
                    "ffff",
                    "0700",
                    "0900000000000000",
                ],
            ),
            (Call::RootRegister { hotkey: a }, vec!["09", A]),
            (
                Call::CommitWeights { netuid, hash: c },
                vec!["0a", NETUID, C],
            ),
            (
                Call::RevealWeights {
                    netuid,
                    uids: vec![3],
                    values: vec![4],
                    salt: vec![0xde, 0xad],
                    version_key: 1,
                },
                vec![
                    "0b",
                    NETUID,
                    "01000000",
                    "0300",
                    "01000000",
                    "0400",
                    "02000000",
                    "dead",
                    "0100000000000000",
                ],
            ),
            (
                Call::SetRootWeights {
                    netuids: vec![0, 1],
                    values: vec![10, 20],
                },
                vec!["0c", "02000000", "0000", "0100", "02000000", "0a00", "1400"],
            ),
            (Call::RegisterValidator { hotkey: a }, vec!["0d", A]),
            (Call::UnregisterValidator { hotkey: a }, vec!["0e", A]),
            (
                Call::ReportEquivocation {
                    evidence: Box::new(crate::block::DoubleSign {
                        validator: a,
                        first: vote(Some(c)),
                        first_signature: Signature([0x51; 64]),
                        second: vote(None),
                        second_signature: Signature([0x52; 64]),
                    }),
                },
                vec![
                    "0f",
                    A,
                    // first vote: chain_id "tc", height 5, round 1, precommit (1), Some(hash)
                    "02000000",
                    "7463",
                    "0500000000000000",
                    "01000000",
                    "01",
                    "01",
                    C,
                    S1,
                    // second vote: the same with a nil (None) block hash
                    "02000000",
                    "7463",
                    "0500000000000000",
                    "01000000",
                    "01",
                    "00",
                    S2,
                ],
            ),
            (
                Call::PowRegister {
                    netuid,
                    hotkey: a,
                    coldkey: b,
                    block_number: 77,
                    nonce: amount,
                },
                vec!["10", NETUID, A, B, "4d00000000000000", AMOUNT],
            ),
            (
                Call::Faucet {
                    block_number: 77,
                    nonce: amount,
                },
                vec!["11", "4d00000000000000", AMOUNT],
            ),
            (Call::SwapHotkey { old: a, new: b }, vec!["12", A, B]),
            (
                Call::MoveStake {
                    from_hotkey: a,
                    to_hotkey: b,
                    amount,
                },
                vec!["13", A, B, AMOUNT],
            ),
            (
                Call::TransferStake {
                    hotkey: a,
                    dest: b,
                    amount,
                },
                vec!["14", A, B, AMOUNT],
            ),
            (Call::RemoveAllStake { hotkey: a }, vec!["15", A]),
        ]
    }

    #[test]
    fn every_call_encodes_to_its_golden_bytes() {
        let goldens = goldens();
        let mut tags: Vec<u8> = goldens.iter().map(|(c, _)| declared_tag(c)).collect();
        tags.sort();
        assert_eq!(
            tags,
            (0..=21).collect::<Vec<u8>>(),
            "one golden per call, every call covered"
        );
        for (call, parts) in &goldens {
            let want = parts.concat();
            assert_eq!(
                &want[..2],
                format!("{:02x}", declared_tag(call)),
                "{}",
                call.name()
            );
            assert_eq!(
                hex::encode(borsh::to_vec(call).unwrap()),
                want,
                "{}",
                call.name()
            );
            assert_eq!(
                &Call::try_from_slice(&hex::decode(&want).unwrap()).unwrap(),
                call,
                "{} decodes back",
                call.name()
            );
        }
    }

    #[test]
    fn signed_tx_envelope_encodes_to_its_golden_bytes() {
        // chain_id (u32 length, bytes) | signer | nonce u64 | fee u64 | call | signature
        let stx = SignedTx {
            tx: Tx {
                chain_id: "tc".into(),
                signer: key(0xaa),
                nonce: 0x0102,
                fee: 100,
                call: Call::RemoveAllStake { hotkey: key(0xbb) },
            },
            signature: Signature([0x51; 64]),
        };
        let want = [
            "02000000",
            "7463",
            A,
            "0201000000000000",
            "6400000000000000",
            "15",
            B,
            S1,
        ]
        .concat();
        assert_eq!(hex::encode(stx.to_bytes()), want);
    }
}

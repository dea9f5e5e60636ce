//! The small states the targets run against: the devnet chain spec (4 validators, funded dev
//! accounts) over the in-memory store, a few committed blocks, and a node machine of one of its
//! validators. Everything is deterministic: a crash input replays the same way.

use std::sync::{Arc, OnceLock};
use tensorchain_consensus::{MemoryWal, ValidatorSet};
use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec, DEV_ACCOUNTS};
use tensorchain_ledger::{GenesisState, Ledger, MemoryStore};
use tensorchain_network::{NodeKey, PeerId};
use tensorchain_node::machine::{timeouts, NodeMachine, ProposalSlot};
use tensorchain_node::Node;
use tensorchain_primitives::{AccountId, Block, Call, Commit, Keypair, SignedTx, Tx};
use tensorchain_rpc::Metrics;

pub const GENESIS_MS: u64 = 1_700_000_000_000;
/// Blocks in the shared chain (`chain`).
pub const CHAIN_BLOCKS: u64 = 3;

pub fn spec() -> &'static ChainSpec {
    static SPEC: OnceLock<ChainSpec> = OnceLock::new();
    SPEC.get_or_init(|| ChainSpec::devnet(4, GENESIS_MS))
}

fn genesis() -> &'static GenesisState {
    static GENESIS: OnceLock<GenesisState> = OnceLock::new();
    GENESIS.get_or_init(|| spec().genesis_state())
}

/// A new ledger at genesis, in memory.
pub fn fresh_ledger() -> Arc<Ledger> {
    Arc::new(Ledger::open(Arc::new(MemoryStore::new()), genesis()).expect("genesis opens"))
}

/// The validators' hotkeys, in the spec's order.
pub fn validator_keys() -> &'static [Keypair] {
    static KEYS: OnceLock<Vec<Keypair>> = OnceLock::new();
    KEYS.get_or_init(|| {
        spec()
            .validators
            .iter()
            .map(|v| {
                DEV_ACCOUNTS
                    .iter()
                    .map(|n| dev_hotkey(n))
                    .find(|k| k.account() == v.hotkey)
                    .expect("devnet validators are dev hotkeys")
            })
            .collect()
    })
}

/// The dev key (cold or hot) of `account`, if it is one: lets a target re-sign a fuzzed
/// transaction so that execution is reached past the signature check.
pub fn dev_key(account: &AccountId) -> Option<Keypair> {
    static KEYS: OnceLock<Vec<Keypair>> = OnceLock::new();
    KEYS.get_or_init(|| {
        DEV_ACCOUNTS
            .iter()
            .flat_map(|n| [dev_coldkey(n), dev_hotkey(n)])
            .collect()
    })
    .iter()
    .find(|k| k.account() == *account)
    .cloned()
}

/// The proposer of `height`'s first round.
pub fn proposer(ledger: &Ledger, height: u64) -> AccountId {
    let set = ledger
        .validators_at(height)
        .expect("store")
        .expect("a known validator set");
    ValidatorSet::new(set).proposer(height, 0)
}

/// A transfer signed by `from`'s dev coldkey, with its next nonce and the right fee.
pub fn transfer(ledger: &Ledger, from: &str, to: &str, amount: u64) -> SignedTx {
    let key = dev_coldkey(from);
    let nonce = ledger
        .account(&key.account())
        .expect("store")
        .map_or(0, |a| a.nonce);
    let call = Call::Transfer {
        to: dev_coldkey(to).account(),
        amount,
    };
    Tx {
        chain_id: ledger.params().chain_id.clone(),
        signer: key.account(),
        nonce,
        fee: ledger.params().fees.for_call(&call),
        call,
    }
    .sign(&key, ledger.signing_domain())
}

/// Builds the next block from `txs` as its proposer would, and returns it with a commit signed
/// by every validator (not committed).
pub fn next_block(ledger: &Ledger, txs: Vec<SignedTx>) -> (Block, Commit) {
    let head = ledger.head();
    let height = head.height + 1;
    let last_commit = ledger.commit(head.height).expect("store");
    let built = ledger
        .build_block(
            txs,
            proposer(ledger, height),
            head.time_ms + spec().block_time_ms,
            last_commit,
        )
        .expect("a block builds");
    let block = built.executed.block;
    let signers: Vec<&Keypair> = validator_keys().iter().collect();
    let commit = Commit::signed_by(&block, ledger.signing_domain(), &signers);
    (block, commit)
}

/// Extends `ledger` by one block of `txs`, committed.
pub fn extend(ledger: &Ledger, txs: Vec<SignedTx>) -> (Block, Commit) {
    let (block, commit) = next_block(ledger, txs);
    let executed = ledger
        .execute_block(&block)
        .expect("its own block executes");
    ledger
        .commit_block(executed, &commit)
        .expect("the block commits");
    (block, commit)
}

/// A chain of `CHAIN_BLOCKS` blocks, each with a transfer, and the blocks with their commits.
/// Shared by the targets that only read (or execute without committing).
pub fn chain() -> &'static (Arc<Ledger>, Vec<(Block, Commit)>) {
    static CHAIN: OnceLock<(Arc<Ledger>, Vec<(Block, Commit)>)> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let ledger = fresh_ledger();
        let blocks = (0..CHAIN_BLOCKS)
            .map(|i| {
                let tx = transfer(&ledger, "alice", "bob", 1_000 + i);
                extend(&ledger, vec![tx])
            })
            .collect();
        (ledger, blocks)
    })
}

/// The validator a machine target runs as: the first that does not propose height 1's first
/// round, so that the seeds' proposal (from that proposer) and votes are what it waits for.
pub fn machine_key() -> &'static Keypair {
    static KEY: OnceLock<Keypair> = OnceLock::new();
    KEY.get_or_init(|| {
        let first = proposer(&chain().0, 1);
        validator_keys()
            .iter()
            .find(|k| k.account() != first)
            .expect("four validators")
            .clone()
    })
}

/// The peers a target's messages come from.
pub const PEERS: u8 = 4;

/// Peer `i % PEERS`.
pub fn peer(i: u8) -> PeerId {
    static IDS: OnceLock<Vec<PeerId>> = OnceLock::new();
    IDS.get_or_init(|| {
        (0..PEERS)
            .map(|i| {
                let mut secret = [0u8; 32];
                secret[0] = i + 1;
                secret[1] = 0x5a;
                NodeKey::ed25519_from_bytes(secret)
                    .expect("a valid ed25519 secret")
                    .public()
                    .to_peer_id()
            })
            .collect()
    })[usize::from(i % PEERS)]
}

/// A proposer's saved block (its borsh encoding), in memory.
#[derive(Default)]
pub struct MemorySlot(Option<Vec<u8>>);

impl ProposalSlot for MemorySlot {
    fn load(&self) -> Option<Block> {
        borsh::from_slice(self.0.as_deref()?).ok()
    }

    fn save(&mut self, block: &[u8]) -> std::io::Result<()> {
        self.0 = Some(block.to_vec());
        Ok(())
    }
}

/// The machine of `machine_key`'s validator over a new ledger at genesis and `wal`, not started.
pub fn machine(wal: MemoryWal) -> (Arc<Node>, NodeMachine<MemoryWal>) {
    let key = machine_key();
    let node = Arc::new(Node::new(
        fresh_ledger(),
        Arc::new(Metrics::new()),
        Some(key.account()),
    ));
    let machine = NodeMachine::new(
        node.clone(),
        Some(key.clone()),
        timeouts(spec().block_time_ms),
        wal,
        Box::<MemorySlot>::default(),
    );
    (node, machine)
}

/// When the machine targets start: height 1's proposal time.
pub fn start_ms() -> u64 {
    GENESIS_MS + spec().block_time_ms
}

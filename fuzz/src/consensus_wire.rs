//! A sequence of steps → a validator's node machine (node/src/machine.rs) at height 1 of the
//! devnet chain: consensus gossip (decoded and checked by `ConsensusWire::decode`, then the
//! membership, round and height windows, the driver and the core, proposal execution and the
//! commit of a decided block), transaction batches (the node's intake, `node/src/intake.rs`:
//! batch decoding, duplicate skipping, verification and mempool admission, whose transactions
//! the machine then proposes), peers going down and timer ticks. The seeds hold a real height-1 proposal and the other validators' votes, so
//! mutations reorder, repeat, drop and corrupt real messages.
//! Invariants: no panic, and the machine never halts (its storage is memory, which cannot fail).

use crate::fixture::{machine, peer, start_ms};
use borsh::{BorshDeserialize, BorshSerialize};
use tensorchain_consensus::MemoryWal;
use tensorchain_network::MessageId;
use tensorchain_node::intake::TxIntake;
use tensorchain_node::machine::{Effect, Input};

/// Steps taken from one input at most: each may execute a block.
const MAX_STEPS: usize = 64;

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub enum Step {
    /// A message on the consensus topic from peer `from` (an encoded `ConsensusWire`).
    Consensus {
        from: u8,
        data: Vec<u8>,
    },
    /// A message on the transaction topic (a batch of borsh `SignedTx`s, `encode_batch`).
    Tx {
        from: u8,
        data: Vec<u8>,
    },
    PeerDown(u8),
    /// Time passes by `ms`; then the machine's due deadlines fire.
    Tick {
        ms: u16,
    },
}

pub fn run(data: &[u8]) {
    let mut rest = data;
    let mut steps = Vec::new();
    while !rest.is_empty() && steps.len() < MAX_STEPS {
        match Step::deserialize(&mut rest) {
            Ok(step) => steps.push(step),
            Err(_) => break,
        }
    }
    if steps.is_empty() {
        return;
    }
    let (node, mut m) = machine(MemoryWal::default());
    let mut intake = TxIntake::new(node);
    let mut now = start_ms();
    let mut effects = m.start(now);
    for (i, step) in steps.into_iter().enumerate() {
        let id = MessageId::new(&(i as u64).to_le_bytes());
        let input = match step {
            // Intake runs beside the machine (its own task in the node); what it admits is in the
            // mempool the machine builds its proposals from.
            Step::Tx { from, data } => {
                intake.handle(peer(from), &data);
                continue;
            }
            Step::Consensus { from, data } => Input::ConsensusGossip {
                id,
                source: peer(from),
                data,
            },
            Step::PeerDown(p) => Input::PeerDown(peer(p)),
            Step::Tick { ms } => {
                now += u64::from(ms);
                Input::Tick
            }
        };
        effects.extend(m.handle(now, input));
        let _ = m.next_deadline();
    }
    if let Some(Effect::Halt(why)) = effects.iter().find(|e| matches!(e, Effect::Halt(_))) {
        panic!("the machine halted over memory storage: {why}");
    }
}

//! Bytes as the consensus WAL file → `unframe` (CRC-framed records, a corrupt tail cut off),
//! then a validator's node machine started on that WAL at height 1: the driver replays the
//! height's records (proposals, votes, timeouts, its own signatures) into the core, and the
//! machine acts on the outputs. The seeds are real WALs of a validator that voted at height 1.
//! Invariants: the intact prefix re-frames to the same bytes; no panic, no halt.

use crate::fixture::{machine, start_ms};
use tensorchain_consensus::wal::{frame, unframe};
use tensorchain_consensus::MemoryWal;
use tensorchain_node::machine::{Effect, Input};

pub fn run(data: &[u8]) {
    let (recovered, intact) = unframe(data);
    let reframed: Vec<u8> = recovered.records.iter().flat_map(|r| frame(r)).collect();
    assert_eq!(
        reframed,
        data[..intact],
        "the intact prefix re-frames to itself"
    );
    assert_eq!(recovered.corrupt_tail.is_none(), intact == data.len());

    let mut wal = MemoryWal::default();
    wal.bytes = data.to_vec();
    let (_node, mut m) = machine(wal);
    let now = start_ms();
    let mut effects = m.start(now);
    // The replayed height's timers: prevote and precommit timeouts, the next round.
    for later in [1_000, 5_000, 20_000] {
        effects.extend(m.handle(now + later, Input::Tick));
    }
    if let Some(Effect::Halt(why)) = effects.iter().find(|e| matches!(e, Effect::Halt(_))) {
        panic!("the machine halted over memory storage: {why}");
    }
}

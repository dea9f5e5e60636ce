//! Block sync bookkeeping: what each peer has, which ranges are being fetched from whom, and the
//! fetched blocks waiting to be applied in order. Pure; the engine does the I/O.

use std::collections::{BTreeMap, HashMap};
use tensorchain_ledger::Ledger;
use tensorchain_network::{PeerId, MAX_BLOCKS_PER_REQUEST, MAX_RESPONSE_BYTES};
use tensorchain_primitives::{Block, Commit};

/// Bytes of blocks and commits one sync response carries: half the network's response cap,
/// leaving room for framing. Responses were sized by block count only: 128 full blocks exceeded
/// the cap, the write failed, and a lagging node asked for the same range forever.
pub const MAX_SYNC_RESPONSE_BYTES: usize = MAX_RESPONSE_BYTES as usize / 2;

/// Requests in flight at once, spread over peers.
const MAX_IN_FLIGHT: usize = 8;
/// How far ahead of the head fetched blocks may pile up.
const WINDOW: u64 = 4 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerStatus {
    pub tip: u64,
    pub earliest: u64,
}

#[derive(Default)]
pub struct RangeSync {
    peers: HashMap<PeerId, PeerStatus>,
    /// Requested ranges by first height: (peer, count).
    in_flight: BTreeMap<u64, (PeerId, u32)>,
    ready: BTreeMap<u64, (Block, Commit)>,
}

impl RangeSync {
    pub fn set_status(&mut self, peer: PeerId, status: PeerStatus) {
        self.peers.insert(peer, status);
    }

    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        self.in_flight.retain(|_, (p, _)| p != peer);
    }

    pub fn best_tip(&self) -> Option<u64> {
        self.peers.values().map(|s| s.tip).max()
    }

    /// Ranges to request now, each from a peer that has all of it, least-loaded peers first.
    pub fn next_requests(&mut self, head: u64) -> Vec<(PeerId, u64, u32)> {
        let mut out = Vec::new();
        let Some(best) = self.best_tip() else {
            return out;
        };
        let limit = best.min(head + WINDOW);
        let mut cursor = head + 1;
        while self.in_flight.len() < MAX_IN_FLIGHT && cursor <= limit {
            if self.ready.contains_key(&cursor) {
                cursor += 1;
                continue;
            }
            if let Some((from, (_, count))) = self.in_flight.range(..=cursor).next_back() {
                if cursor < from + *count as u64 {
                    cursor = from + *count as u64;
                    continue;
                }
            }
            let next_taken = self
                .in_flight
                .range(cursor + 1..)
                .next()
                .map(|(f, _)| *f)
                .unwrap_or(u64::MAX);
            let load = |p: &PeerId| self.in_flight.values().filter(|(q, _)| q == p).count();
            let Some((peer, status)) = self
                .peers
                .iter()
                .filter(|(_, s)| s.tip >= cursor && s.earliest <= cursor)
                .min_by_key(|(p, _)| (load(p), **p))
                .map(|(p, s)| (*p, *s))
            else {
                break;
            };
            let end = (cursor + MAX_BLOCKS_PER_REQUEST as u64 - 1)
                .min(status.tip)
                .min(limit)
                .min(next_taken - 1);
            let count = (end - cursor + 1) as u32;
            self.in_flight.insert(cursor, (peer, count));
            out.push((peer, cursor, count));
            cursor = end + 1;
        }
        out
    }

    /// A range came back: keeps the blocks that are what was asked for.
    pub fn on_response(&mut self, from: u64, blocks: Vec<(Block, Commit)>) {
        let Some((_, count)) = self.in_flight.remove(&from) else {
            return;
        };
        for (i, (block, commit)) in blocks.into_iter().take(count as usize).enumerate() {
            let h = from + i as u64;
            if block.header.height != h || commit.height != h {
                break;
            }
            self.ready.insert(h, (block, commit));
        }
    }

    pub fn on_failure(&mut self, from: u64) {
        self.in_flight.remove(&from);
    }

    /// The fetched block that extends `head`, if it is here.
    pub fn take_next(&mut self, head: u64) -> Option<(Block, Commit)> {
        self.ready.retain(|h, _| *h > head);
        self.ready.remove(&(head + 1))
    }

    pub fn has(&self, height: u64) -> bool {
        self.ready.contains_key(&height)
    }

    /// Drops everything fetched (a block failed verification: its peer's ranges are suspect).
    pub fn discard_fetched(&mut self) {
        self.ready.clear();
    }
}

/// The stored blocks `from..from+count` (at most `MAX_BLOCKS_PER_REQUEST`) with their commits,
/// stopping before the response would exceed `max_bytes` (never empty while a block exists: one
/// block is at most `MAX_BLOCK_BYTES`, far under the cap). The requester continues from where a
/// response stopped.
pub fn blocks_for_range(
    ledger: &Ledger,
    from: u64,
    count: u32,
    max_bytes: usize,
) -> Vec<(Block, Commit)> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let end = from.saturating_add(count.min(MAX_BLOCKS_PER_REQUEST) as u64);
    for h in from.max(1)..end {
        let (Ok(Some((block, _))), Ok(Some(commit))) = (ledger.block(h), ledger.commit(h)) else {
            break;
        };
        let size = block
            .encoded_len()
            .saturating_add(borsh::object_length(&commit).unwrap_or(usize::MAX));
        if !out.is_empty() && bytes.saturating_add(size) > max_bytes {
            break;
        }
        bytes = bytes.saturating_add(size);
        out.push((block, commit));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_gap_once_and_spread_over_peers() {
        let mut s = RangeSync::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        s.set_status(
            a,
            PeerStatus {
                tip: 300,
                earliest: 0,
            },
        );
        s.set_status(
            b,
            PeerStatus {
                tip: 200,
                earliest: 0,
            },
        );
        let reqs = s.next_requests(10);
        let mut covered: Vec<u64> = reqs
            .iter()
            .flat_map(|(_, from, n)| *from..*from + *n as u64)
            .collect();
        covered.sort();
        assert_eq!(covered, (11..=300).collect::<Vec<_>>());
        assert!(reqs.iter().any(|r| r.0 == a) && reqs.iter().any(|r| r.0 == b));
        assert!(reqs
            .iter()
            .all(|(p, from, n)| *p == a || from + *n as u64 - 1 <= 200));
        assert!(s.next_requests(10).is_empty(), "nothing asked twice");
        let first = reqs[0].1;
        s.on_failure(first);
        assert_eq!(
            s.next_requests(10)[0].1,
            first,
            "a failed range is asked again"
        );
    }
}

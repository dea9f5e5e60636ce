//! Block sync bookkeeping: what each peer has, which ranges are being fetched from whom, and the
//! fetched blocks waiting to be applied in order. Pure; the engine does the I/O.

use std::collections::{BTreeMap, HashMap};
use tensorchain_ledger::Ledger;
use tensorchain_network::{
    PeerId, SyncRequest, SyncResponse, MAX_BLOCKS_PER_REQUEST, MAX_RESPONSE_BYTES,
};
use tensorchain_primitives::{Block, Commit};

/// Bytes of blocks and commits one sync response carries: half the network's response cap,
/// leaving room for framing. Responses were sized by block count only: 128 full blocks exceeded
/// the cap, the write failed, and a lagging node asked for the same range forever.
pub const MAX_SYNC_RESPONSE_BYTES: usize = MAX_RESPONSE_BYTES as usize / 2;
// Every response has room for a full block (`blocks_for_range` always returns one): checked
// when the crate builds.
const _: () = assert!(MAX_SYNC_RESPONSE_BYTES >= 2 * tensorchain_primitives::MAX_BLOCK_BYTES);

/// Requests in flight at once, spread over peers.
pub(crate) const MAX_IN_FLIGHT: usize = 8;
/// Range requests one peer serves at once (`sync_server`), and so the most this node sends one
/// peer at once: a server refuses the rest, and refusals count as failed ranges, so asking one
/// peer for eight ranges at once banned it after three and a node with one peer never synced.
pub(crate) const MAX_IN_FLIGHT_PER_PEER: usize = 2;
/// How far ahead of the head fetched blocks may pile up.
pub(crate) const WINDOW: u64 = 4 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerStatus {
    pub tip: u64,
    pub earliest: u64,
}

/// Sizes of `RangeSync`'s tables, for the simulator's bounded-memory check.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyncFootprint {
    pub peers: usize,
    pub in_flight: usize,
    pub ready: usize,
    pub failures: usize,
}

#[derive(Default)]
pub struct RangeSync {
    peers: HashMap<PeerId, PeerStatus>,
    /// Requested ranges by first height: (peer, count).
    in_flight: BTreeMap<u64, (PeerId, u32)>,
    /// Fetched blocks by height, with the peer that served each.
    ready: BTreeMap<u64, (Block, Commit, PeerId)>,
    /// Ranges each peer failed to serve in a row (error, timeout), for the ranges it claimed.
    failures: HashMap<PeerId, u32>,
}

/// Ranges a peer may fail in a row before it is treated as lying about its tip: an honest peer
/// fails one now and then (a timeout under load), a peer claiming a tip it cannot serve fails
/// every one.
const MAX_FAILED_RANGES: u32 = 3;

impl RangeSync {
    pub fn set_status(&mut self, peer: PeerId, status: PeerStatus) {
        self.peers.insert(peer, status);
    }

    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        self.failures.remove(peer);
        self.in_flight.retain(|_, (p, _)| p != peer);
    }

    /// The range at `from` if `peer` is the one it was asked of: a late answer to a range since
    /// given to another peer must not be charged to that peer.
    fn take_range(&mut self, peer: &PeerId, from: u64) -> Option<u32> {
        match self.in_flight.get(&from) {
            Some((p, count)) if p == peer => {
                let count = *count;
                self.in_flight.remove(&from);
                Some(count)
            }
            _ => None,
        }
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
                .filter(|(p, s)| {
                    s.tip >= cursor && s.earliest <= cursor && load(p) < MAX_IN_FLIGHT_PER_PEER
                })
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

    /// A range came back: keeps the blocks that are what was asked for. A peer that claimed a
    /// tip covering the range and then serves nothing of it, or blocks of other heights, is
    /// lying: it is forgotten (its tip no longer counts) and returned, for the caller to
    /// disconnect.
    pub fn on_response(
        &mut self,
        peer: PeerId,
        from: u64,
        blocks: Vec<(Block, Commit)>,
    ) -> Option<PeerId> {
        let count = self.take_range(&peer, from)?;
        let mut kept = 0;
        for (i, (block, commit)) in blocks.into_iter().take(count as usize).enumerate() {
            let h = from.saturating_add(i as u64);
            if block.header.height != h || commit.height != h {
                break;
            }
            self.ready.insert(h, (block, commit, peer));
            kept += 1;
        }
        if kept == 0 {
            self.remove_peer(&peer);
            return Some(peer);
        }
        self.failures.remove(&peer);
        None
    }

    /// `peer` did not answer the range at `from` (an error or a timeout). After
    /// `MAX_FAILED_RANGES` in a row it is forgotten and returned, like a peer that served nothing.
    pub fn on_failure(&mut self, peer: PeerId, from: u64) -> Option<PeerId> {
        self.take_range(&peer, from)?;
        let failed = self.failures.entry(peer).or_default();
        *failed += 1;
        if *failed >= MAX_FAILED_RANGES {
            self.remove_peer(&peer);
            return Some(peer);
        }
        None
    }

    /// The fetched block that extends `head`, if it is here, with the peer that served it.
    pub fn take_next(&mut self, head: u64) -> Option<(Block, Commit, PeerId)> {
        self.ready.retain(|h, _| *h > head);
        self.ready.remove(&head.saturating_add(1))
    }

    pub fn has(&self, height: u64) -> bool {
        self.ready.contains_key(&height)
    }

    /// `peer` served a block that failed verification: everything fetched is dropped (its
    /// ranges are suspect) and the peer forgotten, so its claimed tip no longer counts.
    pub fn served_invalid(&mut self, peer: &PeerId) {
        self.discard_fetched();
        self.remove_peer(peer);
    }

    /// Drops everything fetched, to be fetched again (a verified block did not apply here).
    pub fn discard_fetched(&mut self) {
        self.ready.clear();
    }

    #[cfg(test)]
    pub(crate) fn footprint(&self) -> SyncFootprint {
        SyncFootprint {
            peers: self.peers.len(),
            in_flight: self.in_flight.len(),
            ready: self.ready.len(),
            failures: self.failures.len(),
        }
    }
}

/// The answer to a peer's sync request, from the stored chain.
pub fn serve(ledger: &Ledger, request: SyncRequest) -> SyncResponse {
    match request {
        SyncRequest::Status => {
            let head = ledger.head();
            SyncResponse::Status {
                genesis: ledger.genesis_hash(),
                tip: head.height,
                tip_hash: head.hash,
                earliest: 1,
            }
        }
        SyncRequest::Blocks { from, count } => SyncResponse::Blocks(blocks_for_range(
            ledger,
            from,
            count,
            MAX_SYNC_RESPONSE_BYTES,
        )),
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
        let (Ok(Some(tensorchain_ledger::CommittedBlock { block, .. })), Ok(Some(commit))) =
            (ledger.block(h), ledger.commit(h))
        else {
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
    use std::sync::Arc;
    use tensorchain_ledger::runtime::params::SubnetParams;
    use tensorchain_ledger::runtime::params::ValidatorParams;
    use tensorchain_ledger::{ChainParams, Fees, GenesisState, MemoryStore};
    use tensorchain_primitives::{Hash, Keypair, Validator};

    /// A one-validator chain with `blocks` empty blocks committed.
    fn chain(blocks: u64) -> Ledger {
        let v = Keypair::dev("validator");
        let g = GenesisState {
            params: ChainParams {
                chain_id: "sync".into(),
                block_time_ms: 1000,
                fees: Fees {
                    transfer: 1,
                    staking: 1,
                    subnet: 1,
                },
                sudo: None,
                subnets: SubnetParams::devnet(),
                validators: ValidatorParams::standard(32, 100),
                faucet: None,
            },
            genesis_hash: Hash::digest(b"sync"),
            time_ms: 1,
            balances: vec![],
            stakes: vec![],
            validators: vec![Validator {
                hotkey: v.account(),
                power: 1,
            }],
        };
        let ledger = Ledger::open(Arc::new(MemoryStore::new()), &g).unwrap();
        for _ in 0..blocks {
            let head = ledger.head();
            let last = ledger.commit(head.height).unwrap();
            let built = ledger
                .build_block(vec![], v.account(), head.time_ms + 1, last)
                .unwrap();
            let c = Commit::signed_by(&built.executed.block, ledger.signing_domain(), &[&v]);
            ledger.commit_block(built.executed, &c).unwrap();
        }
        ledger
    }

    /// Finding 7 of the Byzantine-peers review: a sync peer claiming a tip of `u64::MAX` was
    /// never penalised and kept health at 206 forever. A claimed range it cannot serve, or a
    /// block that fails verification, makes it forgotten (and the engine bans it).
    #[test]
    fn finding_7_a_lying_sync_peer_is_forgotten() {
        let mut s = RangeSync::default();
        let (liar, honest) = (PeerId::random(), PeerId::random());
        let claim = |tip| PeerStatus { tip, earliest: 0 };
        s.set_status(liar, claim(u64::MAX));
        s.set_status(honest, claim(12));
        assert_eq!(s.best_tip(), Some(u64::MAX));
        let asked: Vec<_> = s.next_requests(10);
        let (_, from, _) = *asked.iter().find(|(p, _, _)| *p == liar).unwrap();
        assert_eq!(
            s.on_response(liar, from, vec![]),
            Some(liar),
            "served nothing it claimed"
        );
        assert_eq!(
            s.best_tip(),
            Some(12),
            "the lie no longer counts toward health"
        );
        assert!(s.next_requests(10).iter().all(|(p, _, _)| *p != liar));

        // A peer whose block fails verification is forgotten too.
        let ledger = chain(2);
        let mut s = RangeSync::default();
        s.set_status(liar, claim(2));
        let (_, from, _) = s.next_requests(0)[0];
        assert_eq!(
            s.on_response(liar, from, blocks_for_range(&ledger, 1, 2, usize::MAX)),
            None
        );
        let (_, _, server) = s.take_next(0).unwrap();
        s.served_invalid(&server);
        assert_eq!(s.best_tip(), None);
        assert!(s.take_next(1).is_none(), "its other blocks are dropped");
    }

    /// Review of finding 7's fix: replies carried no peer, so a liar's late replies to ranges
    /// since handed to an honest peer were charged to that peer, which got banned.
    #[test]
    fn a_late_reply_is_charged_to_the_peer_that_sent_it_only() {
        let mut s = RangeSync::default();
        let (liar, honest) = (PeerId::random(), PeerId::random());
        s.set_status(
            liar,
            PeerStatus {
                tip: 1_000,
                earliest: 0,
            },
        );
        let asked = s.next_requests(0);
        assert!(asked.len() > 1 && asked.iter().all(|(p, _, _)| *p == liar));
        assert_eq!(s.on_response(liar, asked[0].1, vec![]), Some(liar));
        s.set_status(
            honest,
            PeerStatus {
                tip: 1_000,
                earliest: 0,
            },
        );
        let reassigned = s.next_requests(0);
        assert!(reassigned
            .iter()
            .any(|(p, f, _)| *p == honest && *f == asked[1].1));
        // The liar's queued replies for its old ranges: neither blames the honest peer.
        assert_eq!(s.on_response(liar, asked[1].1, vec![]), None);
        for _ in 0..MAX_FAILED_RANGES {
            assert_eq!(s.on_failure(liar, asked[1].1), None);
        }
        assert_eq!(s.best_tip(), Some(1_000), "the honest peer still counts");
    }

    /// Review of finding 7's fix: a liar that answers every range with an error (or lets it
    /// time out) is forgotten after `MAX_FAILED_RANGES` in a row.
    #[test]
    fn a_peer_failing_every_range_it_claimed_is_forgotten() {
        let mut s = RangeSync::default();
        let liar = PeerId::random();
        s.set_status(
            liar,
            PeerStatus {
                tip: u64::MAX,
                earliest: 0,
            },
        );
        for i in 0..MAX_FAILED_RANGES {
            let (_, from, _) = s.next_requests(0)[0];
            let last = i + 1 == MAX_FAILED_RANGES;
            assert_eq!(s.on_failure(liar, from), last.then_some(liar));
        }
        assert_eq!(s.best_tip(), None);
    }

    /// The sync benchmark never synced a block: its one peer was asked for eight ranges at once,
    /// refused six ("too many requests at once"), and three refusals in a row got it forgotten
    /// and banned. A peer is asked for no more ranges at once than it serves, and the next range
    /// goes out when one comes back.
    #[test]
    fn one_peer_is_asked_for_no_more_ranges_than_it_serves_at_once() {
        let mut s = RangeSync::default();
        let only = PeerId::random();
        s.set_status(
            only,
            PeerStatus {
                tip: 10_000,
                earliest: 0,
            },
        );
        let asked = s.next_requests(0);
        assert_eq!(asked.len(), MAX_IN_FLIGHT_PER_PEER);
        assert!(s.next_requests(0).is_empty(), "the peer is busy");
        let ledger = chain(MAX_BLOCKS_PER_REQUEST as u64);
        let served = blocks_for_range(&ledger, 1, MAX_BLOCKS_PER_REQUEST, usize::MAX);
        assert_eq!(s.on_response(only, asked[0].1, served), None);
        let next = s.next_requests(0);
        assert_eq!(next.len(), 1, "one range answered, one more asked");
        assert_eq!(next[0].1, asked[1].1 + u64::from(asked[1].2));
    }

    /// Finding 4 of the Byzantine-peers review: responses were sized by block count, so 128
    /// full blocks overflowed the response cap and a lagging node asked for the range forever.
    #[test]
    fn finding_4_sync_responses_stop_at_their_byte_budget() {
        let ledger = chain(6);
        let all = blocks_for_range(&ledger, 1, 100, usize::MAX);
        assert_eq!(all.len(), 6);
        let one = all[0].0.encoded_len() + borsh::object_length(&all[0].1).unwrap();
        // Room for two and a half blocks: two come back, and the requester asks again from 3.
        let part = blocks_for_range(&ledger, 1, 100, one * 5 / 2);
        assert_eq!(part.len(), 2);
        let rest = blocks_for_range(&ledger, 3, 100, one * 5 / 2);
        assert_eq!(rest[0].0.header.height, 3);
        // A budget below one block still returns one: progress is always possible.
        assert_eq!(blocks_for_range(&ledger, 1, 100, 1).len(), 1);
    }

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
        let (first_peer, first) = (reqs[0].0, reqs[0].1);
        assert_eq!(
            s.on_failure(first_peer, first),
            None,
            "one failure is forgiven"
        );
        assert_eq!(
            s.next_requests(10)[0].1,
            first,
            "a failed range is asked again"
        );
    }
}

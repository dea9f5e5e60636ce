//! Answers peers' block-sync requests on a task of its own, never the consensus engine's: range
//! requests read and encode up to `MAX_SYNC_RESPONSE_BYTES` each, and a peer sending many must
//! not stall consensus or drop its queued messages. Ranges are served on the blocking pool, a
//! few at a time and a few per peer; more are refused at once ("busy"), never queued here.

use crate::sync::serve;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tensorchain_ledger::Ledger;
use tensorchain_network::{
    InboundRequest, NetworkHandle, PeerId, SyncRefusal, SyncRequest, SyncResponse,
};
use tokio::sync::{mpsc, watch, Semaphore};

/// Requests served at once: storage reads and encoding, on the blocking pool. More wait in the
/// network's bounded queue, and beyond it are dropped.
const MAX_CONCURRENT: usize = 4;
/// Requests of one peer served at once: one peer cannot take every slot (requesters send no more
/// than this to one peer).
const MAX_PER_PEER: usize = crate::sync::MAX_IN_FLIGHT_PER_PEER;

pub async fn run(
    ledger: Arc<Ledger>,
    net: NetworkHandle,
    mut requests: mpsc::Receiver<InboundRequest>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONCURRENT));
    let busy: Arc<Mutex<HashMap<PeerId, usize>>> = Arc::default();
    loop {
        let req = tokio::select! {
            biased;
            _ = shutdown.wait_for(|s| *s) => return,
            Some(req) = requests.recv() => req,
        };
        // Status is a cheap read of the head: answered at once, never behind block ranges, so
        // peers always learn this node's tip.
        if req.request == SyncRequest::Status {
            net.respond(req.channel, serve(&ledger, req.request));
            continue;
        }
        if !take_peer_slot(&busy, req.peer) {
            net.respond(
                req.channel,
                SyncResponse::Refused(SyncRefusal::TooManyRequests),
            );
            continue;
        }
        // Never wait for a slot: a full server says so, and the requester asks another peer.
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            release_peer_slot(&busy, &req.peer);
            net.respond(req.channel, SyncResponse::Refused(SyncRefusal::Busy));
            continue;
        };
        let (ledger, net, busy) = (ledger.clone(), net.clone(), busy.clone());
        tokio::task::spawn_blocking(move || {
            let response = serve(&ledger, req.request);
            net.respond(req.channel, response);
            release_peer_slot(&busy, &req.peer);
            drop(permit);
        });
    }
}

fn take_peer_slot(busy: &Mutex<HashMap<PeerId, usize>>, peer: PeerId) -> bool {
    let mut busy = busy.lock().expect("sync server lock");
    let n = busy.entry(peer).or_default();
    if *n >= MAX_PER_PEER {
        return false;
    }
    *n += 1;
    true
}

/// Entries leave the map at zero: it holds only peers with requests being served.
fn release_peer_slot(busy: &Mutex<HashMap<PeerId, usize>>, peer: &PeerId) {
    let mut busy = busy.lock().expect("sync server lock");
    if let Some(n) = busy.get_mut(peer) {
        *n -= 1;
        if *n == 0 {
            busy.remove(peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_peer_gets_at_most_its_share_of_slots() {
        let busy = Mutex::new(HashMap::new());
        let (a, b) = (PeerId::random(), PeerId::random());
        assert!(take_peer_slot(&busy, a) && take_peer_slot(&busy, a));
        assert!(
            !take_peer_slot(&busy, a),
            "a third concurrent request is refused"
        );
        assert!(take_peer_slot(&busy, b), "other peers are unaffected");
        release_peer_slot(&busy, &a);
        assert!(take_peer_slot(&busy, a));
        for _ in 0..2 {
            release_peer_slot(&busy, &a);
        }
        release_peer_slot(&busy, &b);
        assert!(
            busy.lock().unwrap().is_empty(),
            "no entry outlives its requests"
        );
    }
}

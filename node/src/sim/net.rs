//! The simulated network: gossip flooded as gossipsub does it, sync requests answered by the
//! peer asked, delays, drops, duplicates, partitions and bans.

use super::*;
use tensorchain_network::MAX_RESPONSE_BYTES;

/// How long a sync request waits for an answer before it fails (the network's is 20 s; shorter
/// here so a scenario spends its virtual time on consensus).
const REQUEST_TIMEOUT_MS: u64 = 5_000;
/// Gossipsub forgets seen message ids after this long (its `duplicate_cache_time` is a minute).
const SEEN_TTL_MS: u64 = 60_000;
/// Gossip larger than this never reaches a node (the network's `max_transmit_size`).
pub(super) const MAX_GOSSIP_BYTES: usize = 8 * 1024 * 1024;

impl Sim {
    /// A new gossip message from `from`: it sends it to every peer it is connected to.
    pub(super) fn publish(&mut self, from: usize, topic: Topic, data: Vec<u8>) {
        self.gossip_seq += 1;
        let id = MessageId::new(
            &[
                &(from as u64).to_le_bytes()[..],
                &self.gossip_seq.to_le_bytes(),
            ]
            .concat(),
        );
        if let Some(h) = self.honest.get_mut(from).and_then(|h| h.as_mut()) {
            h.seen.insert(id.clone());
            h.seen_order.push_back((self.now, id.clone()));
        }
        let data = Arc::new(data);
        self.flood(from, None, topic, &id, &data);
    }

    /// Sends gossip `id` from `from` to its connected peers but `except` (where it came from).
    pub(super) fn flood(
        &mut self,
        from: usize,
        except: Option<usize>,
        topic: Topic,
        id: &MessageId,
        data: &Arc<Vec<u8>>,
    ) {
        if data.len() > MAX_GOSSIP_BYTES {
            return;
        }
        for to in 0..self.sc.n {
            // The adversary's nodes saw it when it was published.
            let honest = self.honest[to].is_some();
            if to == from || Some(to) == except || !honest || !self.connected(from, to) {
                continue;
            }
            if self.rng.chance(self.sc.drop_percent) {
                continue;
            }
            let copies = if self.rng.chance(self.sc.dup_percent) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let at = self.now + self.delay();
                self.push(
                    at,
                    Event::Gossip {
                        to,
                        from,
                        topic,
                        id: id.clone(),
                        data: data.clone(),
                    },
                );
            }
        }
    }

    pub(super) fn deliver(
        &mut self,
        to: usize,
        from: usize,
        topic: Topic,
        id: MessageId,
        data: Arc<Vec<u8>>,
    ) -> Result<(), SimFailure> {
        if !self.connected(from, to) {
            return Ok(());
        }
        let now = self.now;
        let Some(h) = self.honest.get_mut(to).and_then(|h| h.as_mut()) else {
            return Ok(()); // the adversary's: it saw it when it was published
        };
        while h
            .seen_order
            .front()
            .is_some_and(|(t, _)| t + SEEN_TTL_MS < now)
        {
            let (_, old) = h.seen_order.pop_front().expect("front");
            h.seen.remove(&old);
        }
        if !h.seen.insert(id.clone()) {
            return Ok(());
        }
        h.seen_order.push_back((now, id.clone()));
        let source = self.peers[from];
        let (verdict, effects) = match topic {
            Topic::Consensus => {
                let input = Input::ConsensusGossip {
                    id: id.clone(),
                    source,
                    data: data.to_vec(),
                };
                let effects = h.machine.handle(now, input);
                let verdict = effects.iter().find_map(|e| match e {
                    Effect::Report { id: r, verdict, .. } if *r == id => Some(*verdict),
                    _ => None,
                });
                (verdict, effects)
            }
            Topic::Tx => (Some(h.intake.handle(source, &data)), vec![]),
        };
        let Some(verdict) = verdict else {
            return Err(self.fail(Violation::NoVerdict { node: to, id }));
        };
        self.adversary
            .judge(&id, verdict)
            .map_err(|attack| self.fail(Violation::AttackAccepted { node: to, attack }))?;
        if verdict == MessageAcceptance::Reject && self.adversary.owns(&id) {
            self.stats.rejected_attacks += 1;
        }
        if verdict == MessageAcceptance::Accept {
            self.flood(to, Some(from), topic, &id, &data);
        }
        self.effects(to, effects)
    }

    pub(super) fn request(&mut self, from: usize, to: usize, request: SyncRequest) {
        let at = self.now + self.delay();
        if self.rng.chance(self.sc.drop_percent) {
            let input = failed(self.peers[to], &request);
            self.push(
                self.now + REQUEST_TIMEOUT_MS,
                Event::Answer { to: from, input },
            );
        } else {
            self.push(at, Event::Request { to, from, request });
        }
    }

    /// `to` answers `from`'s sync request: an honest node from its ledger with the real
    /// `sync::serve`, the adversary as its attack says, a silent validator never.
    pub(super) fn answer(
        &mut self,
        to: usize,
        from: usize,
        request: SyncRequest,
    ) -> Result<(), SimFailure> {
        let response = match self.honest.get(to) {
            Some(Some(h)) => {
                let response = crate::sync::serve(h.node.ledger(), request.clone());
                // Finding 4: an answer over the network's response cap is never delivered,
                // and the requester would ask for the same range forever.
                let bytes = borsh::object_length(&response).unwrap_or(usize::MAX);
                if bytes > MAX_RESPONSE_BYTES as usize {
                    return Err(self.fail(Violation::OversizedAnswer {
                        node: to,
                        request,
                        bytes,
                    }));
                }
                Some(response)
            }
            Some(None) => None,
            None => {
                let honest_head = self
                    .honest_indices()
                    .iter()
                    .map(|i| self.head(*i))
                    .max()
                    .unwrap_or(0);
                self.adversary
                    .serve(to - self.sc.n, &request, honest_head, &mut self.rng)
            }
        };
        let peer = self.peers[to];
        let (input, at) = match response {
            Some(response)
                if self.connected(from, to) && !self.rng.chance(self.sc.drop_percent) =>
            {
                (answered(peer, &request, response), self.now + self.delay())
            }
            _ => (failed(peer, &request), self.now + REQUEST_TIMEOUT_MS),
        };
        self.push(at, Event::Answer { to: from, input });
        Ok(())
    }

    /// A message's delay: mostly 5–60 ms, sometimes (2%) up to a second.
    pub(super) fn delay(&mut self) -> u64 {
        if self.rng.chance(2) {
            200 + self.rng.below(800)
        } else {
            5 + self.rng.below(55)
        }
    }

    pub(super) fn partitioned(&self, a: usize, b: usize) -> bool {
        match &self.sc.partition {
            Some((side, heal)) if self.now < self.start + heal => {
                let side_of = |i: usize| side.get(i).copied();
                // The adversary's own peers sit on every side.
                matches!((side_of(a), side_of(b)), (Some(x), Some(y)) if x != y)
            }
            _ => false,
        }
    }

    pub(super) fn connected(&self, a: usize, b: usize) -> bool {
        let banned = |x: usize, y: usize| self.bans.get(&(x, y)).is_some_and(|t| *t > self.now);
        !self.partitioned(a, b) && !banned(a, b) && !banned(b, a)
    }
}

pub(super) fn answered(peer: PeerId, request: &SyncRequest, response: SyncResponse) -> Input {
    match request {
        SyncRequest::Blocks { from, .. } => Input::Range {
            peer,
            from: *from,
            response: Some(response),
        },
        _ => Input::Status {
            peer,
            response: Some(response),
        },
    }
}

pub(super) fn failed(peer: PeerId, request: &SyncRequest) -> Input {
    match request {
        SyncRequest::Blocks { from, .. } => Input::Range {
            peer,
            from: *from,
            response: None,
        },
        _ => Input::Status {
            peer,
            response: None,
        },
    }
}

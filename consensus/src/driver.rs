//! The driver around the pure core: it logs every input to the WAL, signs what the core asks for
//! only through the sign guard (the signature is made durable before it is handed out, and no
//! (height, round, step) is ever signed twice with different content, also across restarts),
//! feeds the node's own messages back to the core, and replays the WAL after a crash.

use crate::core::{Config, Core, Effect, Input};
use crate::types::{Evidence, Message, SignedProposal, SignedVote, Step, Timeout, ValueId};
use crate::validators::ValidatorSet;
use crate::wal::{Wal, WalError};
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::{BTreeMap, VecDeque};
use tensorchain_primitives::{Commit, Keypair};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A message this node signed.
    Publish(Message),
    /// Other validators' messages worth passing on.
    Relay(Message),
    Schedule(Timeout, u64),
    GetValue {
        height: u64,
        round: u32,
    },
    Decided {
        height: u64,
        round: u32,
        value: ValueId,
        commit: Commit,
    },
    Evidence(Evidence),
}

/// What the WAL holds. Inputs are appended as they arrive; a signed message is appended and
/// synced before it leaves, which also makes every input that led to it durable.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
enum Record {
    Height(u64),
    Proposal {
        proposal: SignedProposal,
        valid: bool,
    },
    Vote(SignedVote),
    Timeout(Timeout),
    ProposedValue {
        height: u64,
        round: u32,
        value: ValueId,
    },
    Commit {
        commit: Commit,
        valid: bool,
    },
    Signed(Message),
}

impl Record {
    fn of_input(input: &Input) -> Option<Record> {
        Some(match input {
            Input::StartHeight { .. } => return None,
            Input::Proposal { proposal, valid } => Record::Proposal {
                proposal: proposal.clone(),
                valid: *valid,
            },
            Input::Vote(v) => Record::Vote(v.clone()),
            Input::Timeout(t) => Record::Timeout(*t),
            Input::ProposedValue {
                height,
                round,
                value,
            } => Record::ProposedValue {
                height: *height,
                round: *round,
                value: *value,
            },
            Input::Commit { commit, valid } => Record::Commit {
                commit: commit.clone(),
                valid: *valid,
            },
        })
    }

    fn into_input(self) -> Option<Input> {
        Some(match self {
            Record::Proposal { proposal, valid } => Input::Proposal { proposal, valid },
            Record::Vote(v) => Input::Vote(v),
            Record::Timeout(t) => Input::Timeout(t),
            Record::ProposedValue {
                height,
                round,
                value,
            } => Input::ProposedValue {
                height,
                round,
                value,
            },
            Record::Commit { commit, valid } => Input::Commit { commit, valid },
            Record::Height(_) | Record::Signed(_) => return None,
        })
    }
}

pub struct Driver<W: Wal> {
    core: Core,
    key: Option<Keypair>,
    wal: W,
    /// This height's signed messages by (round, step): the sign guard's memory.
    signed: BTreeMap<(u32, Step), Message>,
    last_signed: Option<(u64, u32, Step)>,
    /// Set when the WAL was damaged at this height: what was signed is unknown, so sign nothing more.
    passive: bool,
    /// Why the WAL could not be trusted, for the host to log.
    pub wal_warning: Option<String>,
}

impl<W: Wal> Driver<W> {
    pub fn new(config: Config, key: Option<Keypair>, wal: W) -> Driver<W> {
        let me = key.as_ref().map(|k| k.account());
        Driver {
            core: Core::new(config, me),
            key,
            wal,
            signed: BTreeMap::new(),
            last_signed: None,
            passive: false,
            wal_warning: None,
        }
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    pub fn wal_mut(&mut self) -> &mut W {
        &mut self.wal
    }

    /// Starts `height`. If the WAL holds this height (a restart mid-height), its records are
    /// replayed first so locks, votes and timers are as they were.
    pub fn start_height(
        &mut self,
        height: u64,
        validators: ValidatorSet,
    ) -> Result<Vec<Output>, WalError> {
        let recovered = self.wal.load()?;
        let records: Vec<Record> = recovered
            .records
            .iter()
            .filter_map(|r| Record::try_from_slice(r).ok())
            .collect();
        let undecodable = records.len() < recovered.records.len();
        let resumes = matches!(records.first(), Some(Record::Height(h)) if *h == height);
        self.signed.clear();
        self.passive = false;
        self.wal_warning = None;
        if !resumes {
            // Early inputs for this height that the core buffered while the last one was
            // decided: starting the height applies them, so they are logged with it. Without
            // them a crash after they completed a quorum (and a lock) would replay lockless.
            let carried: Vec<Record> = self
                .core
                .buffered_for(height, &validators)
                .filter_map(Record::of_input)
                .collect();
            self.wal.reset()?;
            self.append(&Record::Height(height))?;
            for r in &carried {
                self.append(r)?;
            }
            self.wal.sync()?;
            return Ok(self.process(Input::StartHeight { height, validators }));
        }
        if let Some(why) = recovered
            .corrupt_tail
            .or(undecodable.then(|| "undecodable record".to_string()))
        {
            self.passive = true;
            self.wal_warning = Some(format!(
                "WAL damaged at height {height} ({why}); not signing again at this height"
            ));
        }
        for r in &records {
            if let Record::Signed(m) = r {
                let step = step_of(m);
                self.last_signed = self.last_signed.max(Some((height, m.round(), step)));
                self.signed.insert((m.round(), step), m.clone());
            }
        }
        let mut out = self.process(Input::StartHeight { height, validators });
        for input in records.into_iter().filter_map(Record::into_input) {
            out.extend(self.process(input));
        }
        Ok(out)
    }

    /// Handles one input from the network, a timer or the host.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        if let Some(r) = Record::of_input(&input).filter(|_| self.core.can_use(&input)) {
            // Losing an unsynced input only loses progress, never safety: it is synced before any
            // signature that depends on it leaves. Early inputs for the next height are kept in
            // memory only: losing them on a crash loses progress, not safety.
            let _ = self.append(&r);
        }
        self.process(input)
    }

    fn append(&mut self, r: &Record) -> Result<(), WalError> {
        self.wal.append(&borsh::to_vec(r).expect("borsh"))
    }

    fn process(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        let mut queue = VecDeque::from([input]);
        while let Some(input) = queue.pop_front() {
            for effect in self.core.handle(input) {
                match effect {
                    Effect::SignProposal(p) => {
                        let round = p.round;
                        if let Some(key) = self.key.clone() {
                            let msg = Message::Proposal(SignedProposal::sign(
                                p,
                                &key,
                                &self.core.config().domain,
                            ));
                            if let Some(Message::Proposal(sp)) = self.guard(round, msg) {
                                out.push(Output::Publish(Message::Proposal(sp.clone())));
                                queue.push_back(Input::Proposal {
                                    proposal: sp,
                                    valid: true,
                                });
                            }
                        }
                    }
                    Effect::SignVote(v) => {
                        let round = v.round;
                        if let Some(key) = self.key.clone() {
                            let msg = Message::Vote(SignedVote::sign(
                                v,
                                &key,
                                &self.core.config().domain,
                            ));
                            if let Some(Message::Vote(sv)) = self.guard(round, msg) {
                                out.push(Output::Publish(Message::Vote(sv.clone())));
                                queue.push_back(Input::Vote(sv));
                            }
                        }
                    }
                    Effect::GetValue { height, round } => {
                        match self.signed.get(&(round, Step::Propose)) {
                            // A restarted proposer re-proposes exactly what it signed before.
                            Some(Message::Proposal(sp)) => queue.push_back(Input::ProposedValue {
                                height,
                                round,
                                value: sp.proposal.value,
                            }),
                            _ => out.push(Output::GetValue { height, round }),
                        }
                    }
                    Effect::ScheduleTimeout(t, ms) => out.push(Output::Schedule(t, ms)),
                    Effect::Decide {
                        height,
                        round,
                        value,
                        commit,
                    } => out.push(Output::Decided {
                        height,
                        round,
                        value,
                        commit,
                    }),
                    Effect::Evidence(e) => out.push(Output::Evidence(e)),
                    Effect::Rebroadcast {
                        proof, proposal, ..
                    } => {
                        out.extend(self.signed.values().cloned().map(Output::Publish));
                        // Its own messages are among those just re-published.
                        let me = self.key.as_ref().map(|k| k.account());
                        out.extend(
                            proposal
                                .filter(|sp| Some(sp.proposer) != me)
                                .map(|sp| Output::Relay(Message::Proposal(sp))),
                        );
                        out.extend(
                            proof
                                .into_iter()
                                .filter(|v| Some(v.validator) != me)
                                .map(|v| Output::Relay(Message::Vote(v))),
                        );
                    }
                }
            }
        }
        out
    }

    /// The sign guard: returns the message to publish, or `None` when signing it would be unsafe.
    fn guard(&mut self, round: u32, msg: Message) -> Option<Message> {
        let step = step_of(&msg);
        if let Some(existing) = self.signed.get(&(round, step)) {
            // Same content: ed25519 signatures are deterministic, so this is the same message.
            return (same_content(existing, &msg)).then(|| existing.clone());
        }
        let key = (self.core.height(), round, step);
        if self.passive || self.last_signed.is_some_and(|last| last >= key) {
            return None;
        }
        self.append(&Record::Signed(msg.clone())).ok()?;
        self.wal.sync().ok()?;
        self.last_signed = Some(key);
        self.signed.insert((round, step), msg.clone());
        Some(msg)
    }
}

pub(crate) fn step_of(m: &Message) -> Step {
    match m {
        Message::Proposal(_) => Step::Propose,
        Message::Vote(v) => v.vote.kind.into(),
    }
}

pub(crate) fn same_content(a: &Message, b: &Message) -> bool {
    match (a, b) {
        (Message::Proposal(x), Message::Proposal(y)) => x.proposal == y.proposal,
        (Message::Vote(x), Message::Vote(y)) => x.vote == y.vote,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Timeouts;
    use crate::wal::MemoryWal;
    use tensorchain_primitives::{Hash, SigningDomain, Validator};

    fn setup() -> (Keypair, ValidatorSet) {
        let key = Keypair::dev("solo");
        let set = ValidatorSet::new(vec![Validator {
            hotkey: key.account(),
            power: 1,
        }]);
        (key, set)
    }

    /// Two validators of equal power: the solo key alone cannot decide, so a height stays open.
    fn pair() -> (Keypair, ValidatorSet) {
        let (key, _) = setup();
        let other = Keypair::dev("other");
        let set = ValidatorSet::new(vec![
            Validator {
                hotkey: key.account(),
                power: 1,
            },
            Validator {
                hotkey: other.account(),
                power: 1,
            },
        ]);
        (key, set)
    }

    fn net() -> SigningDomain {
        SigningDomain::new("t", Hash::digest(b"genesis of t"))
    }

    fn driver(key: &Keypair, wal: MemoryWal) -> Driver<MemoryWal> {
        Driver::new(Config::new(net(), Timeouts::fast()), Some(key.clone()), wal)
    }

    fn published(out: &[Output]) -> Vec<Message> {
        out.iter()
            .filter_map(|o| {
                if let Output::Publish(m) = o {
                    Some(m.clone())
                } else {
                    None
                }
            })
            .collect()
    }

    #[test]
    fn a_lone_validator_decides_and_its_certificate_verifies() {
        let (key, set) = setup();
        let mut d = driver(&key, MemoryWal::default());
        let out = d.start_height(1, set.clone()).unwrap();
        assert!(out.contains(&Output::GetValue {
            height: 1,
            round: 0
        }));
        let value = Hash::digest(b"block 1");
        let out = d.handle(Input::ProposedValue {
            height: 1,
            round: 0,
            value,
        });
        let decided = out.iter().find_map(|o| {
            if let Output::Decided { commit, .. } = o {
                Some(commit.clone())
            } else {
                None
            }
        });
        let commit = decided.expect("a set of one decides at once");
        assert_eq!(commit.block_hash, value);
        commit.verify(&net(), set.validators()).unwrap();
        assert_eq!(published(&out).len(), 3, "proposal, prevote, precommit");
    }

    #[test]
    fn a_restarted_proposer_reproposes_the_same_value_and_never_signs_another() {
        let (key, set) = pair();
        let round = (0..50)
            .find(|&r| set.proposer(1, r) == key.account())
            .unwrap();
        let mut d = driver(&key, MemoryWal::default());
        d.start_height(1, set.clone()).unwrap();
        for r in 0..round {
            d.handle(Input::Timeout(Timeout {
                height: 1,
                round: r,
                kind: crate::TimeoutKind::Precommit,
            }));
        }
        let value = Hash::digest(b"first choice");
        let first = published(&d.handle(Input::ProposedValue {
            height: 1,
            round,
            value,
        }));
        assert!(matches!(&first[0], Message::Proposal(p) if p.proposal.value == value));

        // Crash: memory is gone, the synced WAL remains.
        let mut wal = std::mem::take(d.wal_mut());
        wal.crash();
        let mut d = driver(&key, wal);
        let out = d.start_height(1, set).unwrap();
        assert!(
            !out.iter().any(|o| matches!(o, Output::GetValue { .. })),
            "no new value is requested"
        );
        let again = published(&out);
        assert!(again.iter().any(|m| matches!(m, Message::Proposal(p) if p.proposal.value == value && p.proposal.round == round)));
        // Asked for a different value for the same round, the guard refuses to sign it.
        let out = d.handle(Input::ProposedValue {
            height: 1,
            round,
            value: Hash::digest(b"second choice"),
        });
        assert!(published(&out).is_empty());
        // The guard itself, driven directly with what it remembered from the WAL: a conflicting
        // proposal for the signed (height, round) is refused, the same content handed back.
        let proposal = |value| crate::types::Proposal {
            chain_id: "t".into(),
            height: 1,
            round,
            value,
            pol_round: None,
        };
        let conflicting =
            SignedProposal::sign(proposal(Hash::digest(b"second choice")), &key, &net());
        assert!(
            d.guard(round, Message::Proposal(conflicting)).is_none(),
            "a second value for a signed round is never signed"
        );
        let same = SignedProposal::sign(proposal(value), &key, &net());
        assert!(matches!(
            d.guard(round, Message::Proposal(same)),
            Some(Message::Proposal(p)) if p.proposal.value == value
        ));
        // Nor anything for an earlier round than one already signed.
        if round > 0 {
            let earlier = SignedProposal::sign(
                crate::types::Proposal {
                    round: round - 1,
                    ..proposal(value)
                },
                &key,
                &net(),
            );
            assert!(d.guard(round - 1, Message::Proposal(earlier)).is_none());
        }
    }

    #[test]
    fn a_damaged_wal_tail_makes_the_node_stop_signing_at_that_height() {
        let (key, set) = pair();
        let mut d = driver(&key, MemoryWal::default());
        d.start_height(1, set.clone()).unwrap();
        d.handle(Input::Timeout(Timeout {
            height: 1,
            round: 0,
            kind: crate::TimeoutKind::Propose,
        }));
        let mut wal = std::mem::take(d.wal_mut());
        let last = wal.bytes.len() - 1;
        wal.bytes[last] ^= 1;
        let mut d = driver(&key, wal);
        d.start_height(1, set.clone()).unwrap();
        assert!(d.wal_warning.as_deref().unwrap_or("").contains("checksum"));
        let out = d.handle(Input::Timeout(Timeout {
            height: 1,
            round: 0,
            kind: crate::TimeoutKind::Prevote,
        }));
        assert!(
            published(&out).is_empty(),
            "nothing is signed while the WAL cannot be trusted"
        );
        // The next height starts clean.
        d.start_height(2, set).unwrap();
        assert!(d.wal_warning.is_none());
    }

    /// Finding 2 of the Byzantine-peers review: votes signed by any key, for any height, were
    /// written to every node's WAL, which grew without bound and slowed restarts.
    #[test]
    fn finding_2_junk_votes_never_reach_the_wal() {
        let (key, set) = pair();
        let mut d = driver(&key, MemoryWal::default());
        d.start_height(1, set.clone()).unwrap();
        let before = d.wal_mut().bytes.len();
        let vote = |height: u64, signer: &Keypair| {
            Input::Vote(SignedVote::sign(
                tensorchain_primitives::Vote {
                    chain_id: "t".into(),
                    height,
                    round: 0,
                    kind: tensorchain_primitives::VoteKind::Prevote,
                    block_hash: None,
                },
                signer,
                &net(),
            ))
        };
        let stranger = Keypair::dev("stranger");
        for _ in 0..100 {
            d.handle(vote(1, &stranger));
            d.handle(vote(9, &key));
        }
        assert_eq!(d.wal_mut().bytes.len(), before, "nothing logged");
        // A member's vote for the height being decided is logged.
        d.handle(vote(1, &Keypair::dev("other")));
        assert!(d.wal_mut().bytes.len() > before);
    }

    /// Review of finding 2's fix: inputs for the next height, buffered by the core, were applied
    /// when that height started but never logged for it, so a crash after they completed a
    /// quorum (and a lock) replayed without them.
    #[test]
    fn early_votes_for_the_next_height_are_logged_when_it_starts() {
        let (key, set) = pair();
        let mut d = driver(&key, MemoryWal::default());
        d.start_height(1, set.clone()).unwrap();
        d.handle(Input::Vote(SignedVote::sign(
            tensorchain_primitives::Vote {
                chain_id: "t".into(),
                height: 2,
                round: 0,
                kind: tensorchain_primitives::VoteKind::Prevote,
                block_hash: Some(Hash::digest(b"early")),
            },
            &Keypair::dev("other"),
            &net(),
        )));
        d.start_height(2, set.clone()).unwrap();
        assert_eq!(d.core().tracked_rounds(), 1, "the early vote was applied");
        let mut wal = std::mem::take(d.wal_mut());
        wal.crash();
        let mut restarted = driver(&key, wal);
        restarted.start_height(2, set).unwrap();
        assert_eq!(
            restarted.core().tracked_rounds(),
            1,
            "the replay has the early vote too"
        );
    }
}

//! The core's upon-rules one at a time, on four validators of equal power (quorum 3, one third 2):
//! each input and the exact effects it must produce.

use crate::domain;
use tensorchain_consensus::{
    Config, Core, Effect, Input, Proposal, SignedProposal, SignedVote, Timeout, TimeoutKind,
    Timeouts, ValidatorSet,
};
use tensorchain_primitives::{Commit, CommitSig, Hash, Keypair, Validator, Vote, VoteKind};

pub struct Net {
    pub keys: Vec<Keypair>,
    pub set: ValidatorSet,
}

impl Net {
    pub fn new(powers: &[u64]) -> Net {
        let keys: Vec<Keypair> = (0..powers.len())
            .map(|i| Keypair::dev(&format!("core{i}")))
            .collect();
        let set = ValidatorSet::new(
            keys.iter()
                .zip(powers)
                .map(|(k, &power)| Validator {
                    hotkey: k.account(),
                    power,
                })
                .collect(),
        );
        Net { keys, set }
    }

    pub fn key_of(&self, account: tensorchain_primitives::AccountId) -> &Keypair {
        self.keys.iter().find(|k| k.account() == account).unwrap()
    }

    pub fn proposer(&self, height: u64, round: u32) -> &Keypair {
        self.key_of(self.set.proposer(height, round))
    }

    /// A validator that does not propose `(height, round)` for any round in `rounds`.
    pub fn non_proposer(&self, height: u64, rounds: std::ops::Range<u32>) -> &Keypair {
        self.keys
            .iter()
            .find(|k| {
                rounds
                    .clone()
                    .all(|r| self.set.proposer(height, r) != k.account())
            })
            .expect("someone does not propose these rounds")
    }

    pub fn others<'a>(&'a self, me: &'a Keypair) -> impl Iterator<Item = &'a Keypair> {
        self.keys
            .iter()
            .filter(move |k| k.account() != me.account())
    }

    pub fn proposal(&self, height: u64, round: u32, value: Hash, pol: Option<u32>) -> Input {
        Input::Proposal {
            proposal: SignedProposal::sign(
                Proposal {
                    chain_id: "t".into(),
                    height,
                    round,
                    value,
                    pol_round: pol,
                },
                self.proposer(height, round),
                &domain(),
            ),
            valid: true,
        }
    }
}

pub fn vote(key: &Keypair, height: u64, round: u32, kind: VoteKind, value: Option<Hash>) -> Input {
    Input::Vote(signed_vote(key, height, round, kind, value))
}

pub fn signed_vote(
    key: &Keypair,
    height: u64,
    round: u32,
    kind: VoteKind,
    value: Option<Hash>,
) -> SignedVote {
    SignedVote::sign(
        Vote {
            chain_id: "t".into(),
            height,
            round,
            kind,
            block_hash: value,
        },
        key,
        &domain(),
    )
}

pub fn timeout(height: u64, round: u32, kind: TimeoutKind) -> Input {
    Input::Timeout(Timeout {
        height,
        round,
        kind,
    })
}

fn own_vote(height: u64, round: u32, kind: VoteKind, value: Option<Hash>) -> Effect {
    Effect::SignVote(Vote {
        chain_id: "t".into(),
        height,
        round,
        kind,
        block_hash: value,
    })
}

fn schedule(height: u64, round: u32, kind: TimeoutKind, ms: u64) -> Effect {
    Effect::ScheduleTimeout(
        Timeout {
            height,
            round,
            kind,
        },
        ms,
    )
}

fn started(net: &Net, me: &Keypair) -> Core {
    let mut core = Core::new(Config::new(domain(), Timeouts::fast()), Some(me.account()));
    core.handle(Input::StartHeight {
        height: 1,
        validators: net.set.clone(),
    });
    core
}

fn value(name: &str) -> Hash {
    Hash::digest(name.as_bytes())
}

#[test]
fn timeouts_grow_by_delta_per_round_except_rebroadcast() {
    let t = Timeouts::standard();
    assert_eq!(
        (
            t.propose_ms,
            t.prevote_ms,
            t.precommit_ms,
            t.delta_ms,
            t.rebroadcast_ms
        ),
        (3000, 1000, 1000, 500, 2000)
    );
    assert_eq!(t.duration(TimeoutKind::Propose, 0), 3000);
    assert_eq!(t.duration(TimeoutKind::Propose, 3), 4500);
    assert_eq!(t.duration(TimeoutKind::Prevote, 2), 2000);
    assert_eq!(t.duration(TimeoutKind::Precommit, 1), 1500);
    assert_eq!(t.duration(TimeoutKind::Rebroadcast, 9), 2000);
    let f = Timeouts::fast();
    assert_eq!(
        (
            f.propose_ms,
            f.prevote_ms,
            f.precommit_ms,
            f.delta_ms,
            f.rebroadcast_ms
        ),
        (600, 200, 200, 100, 500)
    );
    assert_eq!(f.duration(TimeoutKind::Precommit, 4), 600);
    let huge = Timeouts {
        delta_ms: u64::MAX,
        ..t
    };
    assert_eq!(
        huge.duration(TimeoutKind::Propose, 2),
        u64::MAX,
        "saturates"
    );
}

#[test]
fn start_height_asks_the_proposer_for_a_value_and_schedules_its_timers() {
    let net = Net::new(&[1, 1, 1, 1]);
    let proposer = net.proposer(1, 0);
    let mut core = Core::new(
        Config::new(domain(), Timeouts::fast()),
        Some(proposer.account()),
    );
    assert_eq!(core.config().domain, domain());
    let effects = core.handle(Input::StartHeight {
        height: 1,
        validators: net.set.clone(),
    });
    assert_eq!(
        effects,
        vec![
            Effect::GetValue {
                height: 1,
                round: 0
            },
            schedule(1, 0, TimeoutKind::Propose, 600),
            schedule(1, 0, TimeoutKind::Rebroadcast, 500),
        ]
    );
    assert_eq!((core.height(), core.round(), core.decided()), (1, 0, None));
    // Its value becomes its proposal, once.
    let v = value("block");
    let effects = core.handle(Input::ProposedValue {
        height: 1,
        round: 0,
        value: v,
    });
    assert_eq!(
        effects,
        vec![Effect::SignProposal(Proposal {
            chain_id: "t".into(),
            height: 1,
            round: 0,
            value: v,
            pol_round: None,
        })]
    );
    assert!(core
        .handle(Input::ProposedValue {
            height: 1,
            round: 0,
            value: value("other"),
        })
        .is_empty());
    // Anyone else only schedules.
    let other = net.others(proposer).next().unwrap();
    let mut core = Core::new(
        Config::new(domain(), Timeouts::fast()),
        Some(other.account()),
    );
    let effects = core.handle(Input::StartHeight {
        height: 1,
        validators: net.set.clone(),
    });
    assert_eq!(
        effects,
        vec![
            schedule(1, 0, TimeoutKind::Propose, 600),
            schedule(1, 0, TimeoutKind::Rebroadcast, 500),
        ]
    );
    assert!(core
        .handle(Input::ProposedValue {
            height: 1,
            round: 0,
            value: v,
        })
        .is_empty());
}

#[test]
fn a_valid_proposal_gets_a_prevote_and_an_invalid_one_a_nil_prevote() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..1);
    let v = value("block");
    let mut core = started(&net, me);
    assert_eq!(
        core.handle(net.proposal(1, 0, v, None)),
        vec![own_vote(1, 0, VoteKind::Prevote, Some(v))]
    );
    let mut core = started(&net, me);
    let Input::Proposal { proposal, .. } = net.proposal(1, 0, v, None) else {
        unreachable!()
    };
    assert_eq!(
        core.handle(Input::Proposal {
            proposal,
            valid: false
        }),
        vec![own_vote(1, 0, VoteKind::Prevote, None)]
    );
}

#[test]
fn proposals_from_the_wrong_proposer_or_with_a_bad_pol_round_are_ignored() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..1);
    let v = value("block");
    let mut core = started(&net, me);
    let impostor = net.others(net.proposer(1, 0)).next().unwrap();
    let forged = Input::Proposal {
        proposal: SignedProposal::sign(
            Proposal {
                chain_id: "t".into(),
                height: 1,
                round: 0,
                value: v,
                pol_round: None,
            },
            impostor,
            &domain(),
        ),
        valid: true,
    };
    assert!(core.handle(forged).is_empty());
    assert!(core.handle(net.proposal(1, 0, v, Some(0))).is_empty());
    assert!(core.handle(net.proposal(1, 0, v, Some(1))).is_empty());
    // The real one still counts.
    assert_eq!(
        core.handle(net.proposal(1, 0, v, None)),
        vec![own_vote(1, 0, VoteKind::Prevote, Some(v))]
    );
}

#[test]
fn propose_and_prevote_timeouts_vote_nil_only_in_their_step_and_round() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..1);
    let mut core = started(&net, me);
    assert!(core.handle(timeout(1, 1, TimeoutKind::Propose)).is_empty());
    assert!(core.handle(timeout(1, 0, TimeoutKind::Prevote)).is_empty());
    assert_eq!(
        core.handle(timeout(1, 0, TimeoutKind::Propose)),
        vec![own_vote(1, 0, VoteKind::Prevote, None)]
    );
    assert!(core.handle(timeout(1, 0, TimeoutKind::Propose)).is_empty());
    assert!(core.handle(timeout(1, 1, TimeoutKind::Prevote)).is_empty());
    assert_eq!(
        core.handle(timeout(1, 0, TimeoutKind::Prevote)),
        vec![own_vote(1, 0, VoteKind::Precommit, None)]
    );
    assert!(core.handle(timeout(1, 0, TimeoutKind::Prevote)).is_empty());
    // A timeout of another height is dropped, not buffered.
    assert!(core.handle(timeout(2, 0, TimeoutKind::Propose)).is_empty());
}

#[test]
fn a_mixed_prevote_quorum_schedules_the_prevote_timeout_once() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..1);
    let mut core = started(&net, me);
    core.handle(timeout(1, 0, TimeoutKind::Propose));
    let others: Vec<&Keypair> = net.others(me).collect();
    assert!(core
        .handle(vote(others[0], 1, 0, VoteKind::Prevote, Some(value("a"))))
        .is_empty());
    // Own nil, a and b: three of four, no value with a quorum.
    assert_eq!(core.handle(vote(me, 1, 0, VoteKind::Prevote, None)), vec![]);
    assert_eq!(
        core.handle(vote(others[1], 1, 0, VoteKind::Prevote, Some(value("b")))),
        vec![schedule(1, 0, TimeoutKind::Prevote, 200)]
    );
    assert!(core
        .handle(vote(others[2], 1, 0, VoteKind::Prevote, Some(value("c"))))
        .is_empty());
}

#[test]
fn a_prevote_quorum_for_the_proposal_locks_and_precommits_it_and_precommits_decide() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..1);
    let v = value("block");
    let mut core = started(&net, me);
    core.handle(net.proposal(1, 0, v, None));
    let others: Vec<&Keypair> = net.others(me).collect();
    core.handle(vote(me, 1, 0, VoteKind::Prevote, Some(v)));
    assert!(core
        .handle(vote(others[0], 1, 0, VoteKind::Prevote, Some(v)))
        .is_empty());
    assert_eq!(
        core.handle(vote(others[1], 1, 0, VoteKind::Prevote, Some(v))),
        vec![
            schedule(1, 0, TimeoutKind::Prevote, 200),
            own_vote(1, 0, VoteKind::Precommit, Some(v)),
        ]
    );
    // Precommits: two are not enough; the third decides with all three signatures.
    let sigs: Vec<SignedVote> = [me, others[0], others[1]]
        .iter()
        .map(|k| signed_vote(k, 1, 0, VoteKind::Precommit, Some(v)))
        .collect();
    assert!(core.handle(Input::Vote(sigs[0].clone())).is_empty());
    assert!(core.handle(Input::Vote(sigs[1].clone())).is_empty());
    let effects = core.handle(Input::Vote(sigs[2].clone()));
    let mut want_sigs: Vec<CommitSig> = sigs
        .iter()
        .map(|s| CommitSig {
            validator: s.validator,
            signature: s.signature,
        })
        .collect();
    want_sigs.sort_by_key(|s| s.validator);
    assert_eq!(
        effects,
        vec![Effect::Decide {
            height: 1,
            round: 0,
            value: v,
            commit: Commit {
                height: 1,
                round: 0,
                block_hash: v,
                signatures: want_sigs,
            },
        }]
    );
    assert_eq!(core.decided(), Some(v));
    let Effect::Decide { commit, .. } = &effects[0] else {
        unreachable!()
    };
    commit
        .verify(&crate::domain(), net.set.validators())
        .unwrap();
    // Nothing more happens at a decided height.
    assert!(core
        .handle(vote(others[2], 1, 0, VoteKind::Precommit, Some(v)))
        .is_empty());
    assert!(core
        .handle(timeout(1, 0, TimeoutKind::Rebroadcast))
        .is_empty());
}

#[test]
fn a_nil_prevote_quorum_precommits_nil_and_a_precommit_quorum_times_out_into_the_next_round() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..2);
    let mut core = started(&net, me);
    core.handle(timeout(1, 0, TimeoutKind::Propose));
    let others: Vec<&Keypair> = net.others(me).collect();
    core.handle(vote(me, 1, 0, VoteKind::Prevote, None));
    core.handle(vote(others[0], 1, 0, VoteKind::Prevote, None));
    assert_eq!(
        core.handle(vote(others[1], 1, 0, VoteKind::Prevote, None)),
        vec![
            schedule(1, 0, TimeoutKind::Prevote, 200),
            own_vote(1, 0, VoteKind::Precommit, None),
        ]
    );
    core.handle(vote(me, 1, 0, VoteKind::Precommit, None));
    core.handle(vote(others[0], 1, 0, VoteKind::Precommit, None));
    assert_eq!(
        core.handle(vote(others[1], 1, 0, VoteKind::Precommit, None)),
        vec![schedule(1, 0, TimeoutKind::Precommit, 200)]
    );
    assert!(core
        .handle(timeout(1, 1, TimeoutKind::Precommit))
        .is_empty());
    assert_eq!(
        core.handle(timeout(1, 0, TimeoutKind::Precommit)),
        vec![
            schedule(1, 1, TimeoutKind::Propose, 700),
            schedule(1, 1, TimeoutKind::Rebroadcast, 500),
        ]
    );
    assert_eq!(core.round(), 1);
    assert_eq!(core.decided(), None);
}

#[test]
fn messages_from_more_than_a_third_in_a_later_round_skip_to_it() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..4);
    let mut core = started(&net, me);
    let others: Vec<&Keypair> = net.others(me).collect();
    assert!(core
        .handle(vote(others[0], 1, 3, VoteKind::Prevote, None))
        .is_empty());
    assert_eq!(core.round(), 0);
    assert_eq!(
        core.handle(vote(others[1], 1, 3, VoteKind::Precommit, None)),
        vec![
            schedule(1, 3, TimeoutKind::Propose, 900),
            schedule(1, 3, TimeoutKind::Rebroadcast, 500),
        ]
    );
    assert_eq!(core.round(), 3);
    // Votes of outsiders and of another chain are not heard.
    let outsider = Keypair::dev("outsider");
    core.handle(vote(&outsider, 1, 5, VoteKind::Prevote, None));
    let mut foreign = signed_vote(others[2], 1, 5, VoteKind::Prevote, None);
    foreign.vote.chain_id = "other".into();
    core.handle(Input::Vote(foreign));
    core.handle(vote(others[0], 1, 5, VoteKind::Prevote, None));
    assert_eq!(core.round(), 3, "one validator of four is not f+1");
}

#[test]
fn a_locked_validator_prevotes_nil_for_another_value_unless_it_has_a_newer_proof_of_lock() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..3);
    let (v, w) = (value("v"), value("w"));
    let mut core = started(&net, me);
    let others: Vec<&Keypair> = net.others(me).collect();
    core.handle(net.proposal(1, 0, v, None));
    for k in [me, others[0], others[1]] {
        core.handle(vote(k, 1, 0, VoteKind::Prevote, Some(v)));
    }
    // Locked on v in round 0; round 0 ends without a decision.
    core.handle(timeout(1, 0, TimeoutKind::Precommit));
    assert_eq!(core.round(), 1);
    // Round 1 proposes w without a proof of lock: nil.
    assert_eq!(
        core.handle(net.proposal(1, 1, w, None)),
        vec![own_vote(1, 1, VoteKind::Prevote, None)]
    );
    // Round 2 proposes w with a prevote quorum from round 1 (≥ the lock round): accepted.
    core.handle(timeout(1, 1, TimeoutKind::Precommit));
    assert_eq!(core.round(), 2);
    assert!(core.handle(net.proposal(1, 2, w, Some(1))).is_empty());
    core.handle(vote(others[0], 1, 1, VoteKind::Prevote, Some(w)));
    core.handle(vote(others[1], 1, 1, VoteKind::Prevote, Some(w)));
    assert_eq!(
        core.handle(vote(others[2], 1, 1, VoteKind::Prevote, Some(w))),
        vec![own_vote(1, 2, VoteKind::Prevote, Some(w))]
    );
}

#[test]
fn the_locked_value_itself_is_always_accepted_and_an_older_proof_is_not_enough() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..4);
    let (v, w) = (value("v"), value("w"));
    let others: Vec<&Keypair> = net.others(me).collect();
    let mut core = started(&net, me);
    // w gets a prevote quorum in round 0 while this node is still proposing (no lock).
    for k in &others {
        core.handle(vote(k, 1, 0, VoteKind::Prevote, Some(w)));
    }
    core.handle(timeout(1, 0, TimeoutKind::Propose));
    core.handle(timeout(1, 0, TimeoutKind::Precommit));
    // Round 1: lock on v.
    core.handle(net.proposal(1, 1, v, None));
    for k in [me, others[0], others[1]] {
        core.handle(vote(k, 1, 1, VoteKind::Prevote, Some(v)));
    }
    core.handle(timeout(1, 1, TimeoutKind::Precommit));
    // Round 2 re-proposes w with its round-0 proof: older than the lock, so nil.
    assert_eq!(
        core.handle(net.proposal(1, 2, w, Some(0))),
        vec![own_vote(1, 2, VoteKind::Prevote, None)]
    );
    core.handle(timeout(1, 2, TimeoutKind::Precommit));
    // Round 3 proposes the locked value with its proof: accepted.
    assert_eq!(
        core.handle(net.proposal(1, 3, v, Some(1))),
        vec![own_vote(1, 3, VoteKind::Prevote, Some(v))]
    );
}

#[test]
fn a_verified_commit_from_sync_decides_with_that_certificate() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..1);
    let v = value("v");
    let commit_by = |keys: &[&Keypair]| Commit {
        height: 1,
        round: 4,
        block_hash: v,
        signatures: keys
            .iter()
            .map(|k| CommitSig {
                validator: k.account(),
                signature: signed_vote(k, 1, 4, VoteKind::Precommit, Some(v)).signature,
            })
            .collect(),
    };
    let others: Vec<&Keypair> = net.others(me).collect();
    let mut core = started(&net, me);
    // Two signers, one of them twice: not a quorum.
    let short = commit_by(&[others[0], others[1], others[1]]);
    assert!(core
        .handle(Input::Commit {
            commit: short,
            valid: true
        })
        .is_empty());
    let full = commit_by(&[others[0], others[1], others[2]]);
    assert!(core
        .handle(Input::Commit {
            commit: full.clone(),
            valid: false
        })
        .is_empty());
    assert_eq!(
        core.handle(Input::Commit {
            commit: full.clone(),
            valid: true
        }),
        vec![Effect::Decide {
            height: 1,
            round: 4,
            value: v,
            commit: full.clone(),
        }]
    );
    assert!(core
        .handle(Input::Commit {
            commit: full,
            valid: true
        })
        .is_empty());
}

#[test]
fn next_height_messages_wait_for_it_and_timeouts_do_not() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(2, 0..1);
    let v = value("v2");
    let mut core = started(&net, me);
    // A timeout kept and replayed first would make it prevote nil.
    assert!(core.handle(timeout(2, 0, TimeoutKind::Propose)).is_empty());
    assert!(core.handle(net.proposal(2, 0, v, None)).is_empty());
    assert!(core.handle(net.proposal(3, 0, v, None)).is_empty());
    let effects = core.handle(Input::StartHeight {
        height: 2,
        validators: net.set.clone(),
    });
    assert_eq!(
        effects,
        vec![
            schedule(2, 0, TimeoutKind::Propose, 600),
            schedule(2, 0, TimeoutKind::Rebroadcast, 500),
            own_vote(2, 0, VoteKind::Prevote, Some(v)),
        ],
        "the buffered proposal is handled; the timeout was not kept"
    );
    assert_eq!((core.height(), core.round()), (2, 0));
    // Height 3's proposal was two heights ahead: dropped.
    let effects = core.handle(Input::StartHeight {
        height: 3,
        validators: net.set.clone(),
    });
    assert!(!effects.iter().any(|e| matches!(e, Effect::SignVote(_))));
}

#[test]
fn a_node_without_a_key_or_power_never_signs() {
    let net = Net::new(&[1, 1, 1, 0]);
    assert_eq!(net.set.len(), 3);
    let v = value("v");
    for me in [None, Some(Keypair::dev("core3").account())] {
        let mut core = Core::new(Config::new(domain(), Timeouts::fast()), me);
        let effects = core.handle(Input::StartHeight {
            height: 1,
            validators: net.set.clone(),
        });
        assert!(!effects.iter().any(|e| matches!(e, Effect::GetValue { .. })));
        assert!(core.handle(net.proposal(1, 0, v, None)).is_empty());
        assert!(core
            .handle(Input::ProposedValue {
                height: 1,
                round: 0,
                value: v
            })
            .is_empty());
    }
}

#[test]
fn an_equivocating_vote_is_reported_as_evidence() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..1);
    let mut core = started(&net, me);
    let byz = net.others(me).next().unwrap();
    let first = signed_vote(byz, 1, 0, VoteKind::Prevote, Some(value("a")));
    let second = signed_vote(byz, 1, 0, VoteKind::Prevote, Some(value("b")));
    core.handle(Input::Vote(first.clone()));
    assert_eq!(
        core.handle(Input::Vote(second.clone())),
        vec![Effect::Evidence(tensorchain_consensus::Evidence {
            first,
            second
        })]
    );
}

#[test]
fn rebroadcast_relays_the_proposal_and_proof_behind_the_valid_value_and_reschedules() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..2);
    let v = value("v");
    let mut core = started(&net, me);
    assert_eq!(
        core.handle(timeout(1, 0, TimeoutKind::Rebroadcast)),
        vec![
            Effect::Rebroadcast {
                height: 1,
                round: 0,
                proof: vec![],
                proposal: None,
            },
            schedule(1, 0, TimeoutKind::Rebroadcast, 500),
        ]
    );
    assert!(core
        .handle(timeout(1, 1, TimeoutKind::Rebroadcast))
        .is_empty());
    let proposal = net.proposal(1, 0, v, None);
    let Input::Proposal {
        proposal: signed_proposal,
        ..
    } = proposal.clone()
    else {
        unreachable!("a proposal input")
    };
    core.handle(proposal);
    let others: Vec<&Keypair> = net.others(me).collect();
    let mut proof: Vec<SignedVote> = [me, others[0], others[1]]
        .iter()
        .map(|k| signed_vote(k, 1, 0, VoteKind::Prevote, Some(v)))
        .collect();
    for p in &proof {
        core.handle(Input::Vote(p.clone()));
    }
    proof.sort_by_key(|p| p.validator);
    assert_eq!(
        core.handle(timeout(1, 0, TimeoutKind::Rebroadcast)),
        vec![
            Effect::Rebroadcast {
                height: 1,
                round: 0,
                proof,
                proposal: Some(signed_proposal),
            },
            schedule(1, 0, TimeoutKind::Rebroadcast, 500),
        ]
    );
}

#[test]
fn only_the_next_height_is_buffered() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(3, 0..1);
    let v = value("v3");
    let mut core = started(&net, me);
    // Two heights ahead (a node may jump there by sync): dropped, not kept.
    assert!(core.handle(net.proposal(3, 0, v, None)).is_empty());
    assert!(core.handle(timeout(3, 0, TimeoutKind::Propose)).is_empty());
    let effects = core.handle(Input::StartHeight {
        height: 3,
        validators: net.set.clone(),
    });
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::SignVote(_))),
        "{effects:?}"
    );
}

#[test]
fn the_buffer_holds_at_most_4096_messages() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(2, 0..1);
    let v = value("v2");
    let mut core = started(&net, me);
    // Each filler from a signer of its own: one signer keeps at most `MAX_BUFFERED_PER_SIGNER`.
    let fillers: Vec<Input> = (0..4096)
        .map(|i| {
            let key = Keypair::dev(&format!("filler/{i}"));
            vote(&key, 2, 0, VoteKind::Prevote, None)
        })
        .collect();
    for filler in &fillers[..4095] {
        core.handle(filler.clone());
    }
    // The 4096th message is kept, the 4097th is not.
    core.handle(net.proposal(2, 0, v, None));
    let mut other = Core::new(Config::new(domain(), Timeouts::fast()), Some(me.account()));
    other.handle(Input::StartHeight {
        height: 1,
        validators: net.set.clone(),
    });
    for filler in &fillers {
        other.handle(filler.clone());
    }
    other.handle(net.proposal(2, 0, v, None));
    let prevoted = |effects: Vec<Effect>| {
        effects
            .iter()
            .any(|e| *e == own_vote(2, 0, VoteKind::Prevote, Some(v)))
    };
    let start = Input::StartHeight {
        height: 2,
        validators: net.set.clone(),
    };
    assert!(prevoted(core.handle(start.clone())));
    assert!(!prevoted(other.handle(start)));
}

#[test]
fn the_locked_value_reproposed_without_a_proof_gets_a_prevote() {
    let net = Net::new(&[1, 1, 1, 1]);
    let me = net.non_proposer(1, 0..2);
    let v = value("v");
    let mut core = started(&net, me);
    let others: Vec<&Keypair> = net.others(me).collect();
    core.handle(net.proposal(1, 0, v, None));
    for k in [me, others[0], others[1]] {
        core.handle(vote(k, 1, 0, VoteKind::Prevote, Some(v)));
    }
    core.handle(timeout(1, 0, TimeoutKind::Precommit));
    assert_eq!(
        core.handle(net.proposal(1, 1, v, None)),
        vec![own_vote(1, 1, VoteKind::Prevote, Some(v))]
    );
}

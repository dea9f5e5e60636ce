//! The driver through its public face: what it publishes, relays and schedules, what it makes
//! durable before anything leaves, and when it refuses to sign after a restart.

use crate::domain;
use tensorchain_consensus::wal::unframe;
use tensorchain_consensus::{
    Config, Driver, Input, MemoryWal, Message, Output, Proposal, SignedProposal, SignedVote,
    Timeout, TimeoutKind, Timeouts, ValidatorSet, Wal,
};
use tensorchain_primitives::{Hash, Keypair, Validator, Vote, VoteKind};

fn me() -> Keypair {
    Keypair::dev("driver-me")
}

fn other() -> Keypair {
    Keypair::dev("driver-other")
}

/// Two validators of equal power: both must sign for a quorum.
fn pair() -> ValidatorSet {
    ValidatorSet::new(
        [me(), other()]
            .iter()
            .map(|k| Validator {
                hotkey: k.account(),
                power: 1,
            })
            .collect(),
    )
}

fn driver(wal: MemoryWal) -> Driver<MemoryWal> {
    Driver::new(Config::new(domain(), Timeouts::fast()), Some(me()), wal)
}

/// A height whose round-0 proposer is the other validator.
fn others_height(set: &ValidatorSet) -> u64 {
    (1..200)
        .find(|&h| set.proposer(h, 0) == other().account())
        .unwrap()
}

fn proposal_by_other(height: u64, value: Hash) -> Input {
    Input::Proposal {
        proposal: SignedProposal::sign(
            Proposal {
                chain_id: "t".into(),
                height,
                round: 0,
                value,
                pol_round: None,
            },
            &other(),
            &domain(),
        ),
        valid: true,
    }
}

fn vote(key: &Keypair, height: u64, kind: VoteKind, value: Option<Hash>) -> SignedVote {
    SignedVote::sign(
        Vote {
            chain_id: "t".into(),
            height,
            round: 0,
            kind,
            block_hash: value,
        },
        key,
        &domain(),
    )
}

fn published(out: &[Output]) -> Vec<Message> {
    out.iter()
        .filter_map(|o| match o {
            Output::Publish(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_new_height_replaces_the_wal_with_a_synced_height_record() {
    let set = pair();
    let h = others_height(&set);
    let mut d = driver(MemoryWal::default());
    d.start_height(h, set.clone()).unwrap();
    d.handle(Input::Timeout(Timeout {
        height: h,
        round: 0,
        kind: TimeoutKind::Propose,
    }));
    let before = unframe(&d.wal_mut().bytes).0.records.len();
    assert!(before >= 3, "height, the timeout and the signed prevote");
    d.start_height(h + 1, set).unwrap();
    let mut wal = std::mem::take(d.wal_mut());
    wal.crash();
    let rec = wal.load().unwrap();
    assert_eq!(rec.records.len(), 1, "only the new height's record, synced");
    assert_eq!(rec.corrupt_tail, None);
}

#[test]
fn it_signs_publishes_and_feeds_back_its_own_votes_and_decides_with_the_other() {
    let set = pair();
    let h = others_height(&set);
    let v = Hash::digest(b"v");
    let mut d = driver(MemoryWal::default());
    let out = d.start_height(h, set.clone()).unwrap();
    assert_eq!(
        out,
        vec![
            Output::Schedule(
                Timeout {
                    height: h,
                    round: 0,
                    kind: TimeoutKind::Propose
                },
                600
            ),
            Output::Schedule(
                Timeout {
                    height: h,
                    round: 0,
                    kind: TimeoutKind::Rebroadcast
                },
                500
            ),
        ]
    );
    let their_proposal = proposal_by_other(h, v);
    let Input::Proposal {
        proposal: their_signed_proposal,
        ..
    } = their_proposal.clone()
    else {
        unreachable!("a proposal input")
    };
    let out = d.handle(their_proposal);
    let my_prevote = vote(&me(), h, VoteKind::Prevote, Some(v));
    assert_eq!(
        out,
        vec![Output::Publish(Message::Vote(my_prevote.clone()))]
    );
    // The other's prevote completes the quorum: this node precommits.
    let their_prevote = vote(&other(), h, VoteKind::Prevote, Some(v));
    let out = d.handle(Input::Vote(their_prevote.clone()));
    let my_precommit = vote(&me(), h, VoteKind::Precommit, Some(v));
    assert_eq!(published(&out), vec![Message::Vote(my_precommit.clone())]);
    // Rebroadcast: its own messages, then the proposal of its valid value and the other's
    // prevote as the proof (never its own messages twice).
    let out = d.handle(Input::Timeout(Timeout {
        height: h,
        round: 0,
        kind: TimeoutKind::Rebroadcast,
    }));
    assert_eq!(
        out,
        vec![
            Output::Publish(Message::Vote(my_prevote)),
            Output::Publish(Message::Vote(my_precommit)),
            Output::Relay(Message::Proposal(their_signed_proposal)),
            Output::Relay(Message::Vote(their_prevote)),
            Output::Schedule(
                Timeout {
                    height: h,
                    round: 0,
                    kind: TimeoutKind::Rebroadcast
                },
                500
            ),
        ]
    );
    // The other's precommit decides.
    let out = d.handle(Input::Vote(vote(&other(), h, VoteKind::Precommit, Some(v))));
    let decided = out.iter().find_map(|o| match o {
        Output::Decided {
            height,
            round,
            value,
            commit,
        } => Some((*height, *round, *value, commit.clone())),
        _ => None,
    });
    let (height, round, value, commit) = decided.expect("decided");
    assert_eq!((height, round, value), (h, 0, v));
    commit.verify(&domain(), set.validators()).unwrap();
}

#[test]
fn equivocation_by_the_other_comes_out_as_evidence() {
    let set = pair();
    let h = others_height(&set);
    let mut d = driver(MemoryWal::default());
    d.start_height(h, set).unwrap();
    let first = vote(&other(), h, VoteKind::Prevote, Some(Hash::digest(b"a")));
    let second = vote(&other(), h, VoteKind::Prevote, Some(Hash::digest(b"b")));
    d.handle(Input::Vote(first.clone()));
    let out = d.handle(Input::Vote(second.clone()));
    assert_eq!(
        out,
        vec![Output::Evidence(tensorchain_consensus::Evidence {
            first,
            second
        })]
    );
}

#[test]
fn a_clean_restart_replays_the_height_and_keeps_signing() {
    let set = pair();
    let h = others_height(&set);
    let v = Hash::digest(b"v");
    let mut d = driver(MemoryWal::default());
    d.start_height(h, set.clone()).unwrap();
    d.handle(proposal_by_other(h, v));
    let mut wal = std::mem::take(d.wal_mut());
    wal.crash();
    let mut d = driver(wal);
    let out = d.start_height(h, set.clone()).unwrap();
    assert_eq!(d.wal_warning, None);
    // The replayed proposal leads to the same prevote, handed out again (not signed anew).
    assert_eq!(
        published(&out),
        vec![Message::Vote(vote(&me(), h, VoteKind::Prevote, Some(v)))]
    );
    assert_eq!(d.core().height(), h);
    // And it goes on: the other's prevote makes it precommit.
    let out = d.handle(Input::Vote(vote(&other(), h, VoteKind::Prevote, Some(v))));
    assert_eq!(
        published(&out),
        vec![Message::Vote(vote(&me(), h, VoteKind::Precommit, Some(v)))]
    );
}

#[test]
fn an_undecodable_record_makes_the_node_passive_at_that_height() {
    let set = pair();
    let h = others_height(&set);
    let mut d = driver(MemoryWal::default());
    d.start_height(h, set.clone()).unwrap();
    let mut wal = std::mem::take(d.wal_mut());
    wal.append(&[0xee, 1, 2]).unwrap();
    wal.sync().unwrap();
    let mut d = driver(wal);
    d.start_height(h, set.clone()).unwrap();
    let warning = d.wal_warning.clone().expect("a warning");
    assert!(warning.contains("undecodable record"), "{warning}");
    assert!(warning.contains(&format!("height {h}")), "{warning}");
    let out = d.handle(Input::Timeout(Timeout {
        height: h,
        round: 0,
        kind: TimeoutKind::Propose,
    }));
    assert!(published(&out).is_empty());
}

#[test]
fn a_restarted_node_never_signs_an_earlier_step_than_one_it_signed() {
    let set = pair();
    let h = others_height(&set);
    let v = Hash::digest(b"v");
    let mut d = driver(MemoryWal::default());
    d.start_height(h, set.clone()).unwrap();
    // Prevote nil on the propose timeout, then precommit nil on the prevote timeout.
    d.handle(Input::Timeout(Timeout {
        height: h,
        round: 0,
        kind: TimeoutKind::Propose,
    }));
    let out = d.handle(Input::Timeout(Timeout {
        height: h,
        round: 0,
        kind: TimeoutKind::Prevote,
    }));
    assert_eq!(
        published(&out),
        vec![Message::Vote(vote(&me(), h, VoteKind::Precommit, None))]
    );
    // Restart with a WAL that lost the inputs but kept what was signed: the proposal arrives
    // late, and the prevote for it would conflict with the nil prevote already signed.
    let mut wal = std::mem::take(d.wal_mut());
    wal.crash();
    let mut d = driver(wal);
    d.start_height(h, set.clone()).unwrap();
    let out = d.handle(proposal_by_other(h, v));
    assert!(
        published(&out)
            .iter()
            .all(|m| !matches!(m, Message::Vote(sv) if sv.vote.block_hash == Some(v))),
        "no prevote for v after a nil prevote: {out:?}"
    );
}

#[test]
fn without_a_key_nothing_is_signed() {
    let set = pair();
    let h = (1..200)
        .find(|&h| set.proposer(h, 0) == me().account())
        .unwrap();
    let mut d = Driver::new(
        Config::new(domain(), Timeouts::fast()),
        None,
        MemoryWal::default(),
    );
    d.start_height(h, set).unwrap();
    let out = d.handle(proposal_by_other(h, Hash::digest(b"v")));
    assert!(published(&out).is_empty());
    let out = d.handle(Input::Timeout(Timeout {
        height: h,
        round: 0,
        kind: TimeoutKind::Propose,
    }));
    assert!(published(&out).is_empty());
}

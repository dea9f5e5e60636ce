//! Votes of one height, tallied by stake per round, type and value; the first vote of each
//! validator counts, a conflicting second one is equivocation evidence.

use crate::types::{Evidence, SignedVote, ValueId};
use crate::validators::ValidatorSet;
use std::collections::{BTreeMap, BTreeSet};
use tensorchain_primitives::{AccountId, VoteKind};

#[derive(Default, Debug, Clone)]
struct Tally {
    votes: BTreeMap<AccountId, SignedVote>,
    by_value: BTreeMap<Option<ValueId>, u128>,
    total: u128,
}

#[derive(Default, Debug, Clone)]
struct RoundVotes {
    prevotes: Tally,
    precommits: Tally,
    /// Everyone heard from in this round (any message), and their power: for round skipping.
    senders: BTreeSet<AccountId>,
    sender_power: u128,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    New,
    Duplicate,
    Equivocation(Evidence),
}

#[derive(Default, Debug, Clone)]
pub struct VoteKeeper {
    rounds: BTreeMap<u32, RoundVotes>,
}

impl VoteKeeper {
    fn tally(&self, round: u32, kind: VoteKind) -> Option<&Tally> {
        let r = self.rounds.get(&round)?;
        Some(match kind {
            VoteKind::Prevote => &r.prevotes,
            VoteKind::Precommit => &r.precommits,
        })
    }

    /// Records that `who` sent a message in `round`.
    pub fn heard_from(&mut self, round: u32, who: AccountId, set: &ValidatorSet) {
        let r = self.rounds.entry(round).or_default();
        if r.senders.insert(who) {
            r.sender_power += set.power_of(&who) as u128;
        }
    }

    pub fn add(&mut self, sv: SignedVote, set: &ValidatorSet) -> Added {
        let power = set.power_of(&sv.validator) as u128;
        let round = sv.vote.round;
        self.heard_from(round, sv.validator, set);
        let r = self.rounds.entry(round).or_default();
        let t = match sv.vote.kind {
            VoteKind::Prevote => &mut r.prevotes,
            VoteKind::Precommit => &mut r.precommits,
        };
        match t.votes.get(&sv.validator) {
            Some(first) if first.vote == sv.vote => Added::Duplicate,
            Some(first) => Added::Equivocation(Evidence { first: first.clone(), second: sv }),
            None => {
                *t.by_value.entry(sv.vote.block_hash).or_default() += power;
                t.total += power;
                t.votes.insert(sv.validator, sv);
                Added::New
            }
        }
    }

    pub fn power_for(&self, round: u32, kind: VoteKind, value: Option<ValueId>) -> u128 {
        self.tally(round, kind).and_then(|t| t.by_value.get(&value).copied()).unwrap_or(0)
    }

    pub fn total(&self, round: u32, kind: VoteKind) -> u128 {
        self.tally(round, kind).map_or(0, |t| t.total)
    }

    pub fn sender_power(&self, round: u32) -> u128 {
        self.rounds.get(&round).map_or(0, |r| r.sender_power)
    }

    /// Rounds above `round` anyone has been heard from in.
    pub fn rounds_above(&self, round: u32) -> Vec<u32> {
        self.rounds.range(round + 1..).map(|(r, _)| *r).collect()
    }

    /// The precommits for `value` in `round`, for a commit certificate.
    pub fn precommits_for(&self, round: u32, value: ValueId) -> Vec<SignedVote> {
        self.tally(round, VoteKind::Precommit)
            .map(|t| t.votes.values().filter(|v| v.vote.block_hash == Some(value)).cloned().collect())
            .unwrap_or_default()
    }
}

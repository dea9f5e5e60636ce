//! Votes of one height, tallied by stake per round, type and value. As in the paper, every signed
//! vote counts toward its own value: an equivocating validator counts (at most once) for each value
//! it signed, which keeps quorum proofs complete on every node, and its second vote is evidence.
//! Safety is unaffected: quorum intersection already allows f validators on both sides.

use crate::types::{Evidence, SignedVote, ValueId};
use crate::validators::ValidatorSet;
use std::collections::{BTreeMap, BTreeSet};
use tensorchain_primitives::{AccountId, VoteKind};

/// Distinct values one validator may be counted for in one round and step; more is spam.
const MAX_VALUES_PER_VALIDATOR: usize = 4;

#[derive(Default, Debug, Clone)]
struct Tally {
    /// Each validator's first vote.
    first: BTreeMap<AccountId, SignedVote>,
    /// Every counted vote, by value then validator.
    by_value: BTreeMap<Option<ValueId>, BTreeMap<AccountId, SignedVote>>,
    power_by_value: BTreeMap<Option<ValueId>, u128>,
    values_of: BTreeMap<AccountId, usize>,
    /// Power of the distinct validators heard from.
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
    /// Boxed: rare, and ten times the size of the other answers.
    Equivocation(Box<Evidence>),
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
        let value = sv.vote.block_hash;
        if t.by_value
            .get(&value)
            .is_some_and(|m| m.contains_key(&sv.validator))
        {
            return Added::Duplicate;
        }
        let counted = t.values_of.entry(sv.validator).or_default();
        if *counted >= MAX_VALUES_PER_VALIDATOR {
            return Added::Duplicate;
        }
        *counted += 1;
        *t.power_by_value.entry(value).or_default() += power;
        t.by_value
            .entry(value)
            .or_default()
            .insert(sv.validator, sv.clone());
        match t.first.get(&sv.validator) {
            Some(first) => Added::Equivocation(Box::new(Evidence {
                first: first.clone(),
                second: sv,
            })),
            None => {
                t.total += power;
                t.first.insert(sv.validator, sv);
                Added::New
            }
        }
    }

    pub fn power_for(&self, round: u32, kind: VoteKind, value: Option<ValueId>) -> u128 {
        self.tally(round, kind)
            .and_then(|t| t.power_by_value.get(&value).copied())
            .unwrap_or(0)
    }

    pub fn total(&self, round: u32, kind: VoteKind) -> u128 {
        self.tally(round, kind).map_or(0, |t| t.total)
    }

    pub fn sender_power(&self, round: u32) -> u128 {
        self.rounds.get(&round).map_or(0, |r| r.sender_power)
    }

    /// Rounds above `round` anyone has been heard from in.
    pub fn rounds_above(&self, round: u32) -> Vec<u32> {
        use std::ops::Bound::{Excluded, Unbounded};
        self.rounds
            .range((Excluded(round), Unbounded))
            .map(|(r, _)| *r)
            .collect()
    }

    /// Rounds anything was heard in.
    pub fn round_count(&self) -> usize {
        self.rounds.len()
    }

    /// The votes of a kind for `value` in `round`: a commit certificate, or a proof of lock.
    pub fn votes_for(&self, round: u32, kind: VoteKind, value: ValueId) -> Vec<SignedVote> {
        self.tally(round, kind)
            .and_then(|t| t.by_value.get(&Some(value)))
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}

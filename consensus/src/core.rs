//! The consensus state machine of one node: Algorithm 1 of Buchman, Kwon and Milosevic, "The latest
//! gossip on BFT consensus" (arXiv 1807.04938), with stake-weighted quorums. Pure: no clock, no
//! I/O, no randomness. Each arm cites the paper's line numbers.

use crate::keeper::{Added, VoteKeeper};
use crate::types::{Evidence, Proposal, SignedProposal, SignedVote, Timeout, TimeoutKind, ValueId};
use crate::validators::ValidatorSet;
use std::collections::{BTreeMap, BTreeSet};
use tensorchain_primitives::{AccountId, Commit, CommitSig, SigningDomain, Vote, VoteKind};

/// Timeouts in milliseconds; each grows by `delta_ms` per round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub propose_ms: u64,
    pub prevote_ms: u64,
    pub precommit_ms: u64,
    pub delta_ms: u64,
    pub rebroadcast_ms: u64,
}

impl Timeouts {
    /// CometBFT's defaults.
    pub fn standard() -> Timeouts {
        Timeouts {
            propose_ms: 3000,
            prevote_ms: 1000,
            precommit_ms: 1000,
            delta_ms: 500,
            rebroadcast_ms: 2000,
        }
    }

    /// Short timeouts for a devnet on one machine.
    pub fn fast() -> Timeouts {
        Timeouts {
            propose_ms: 600,
            prevote_ms: 200,
            precommit_ms: 200,
            delta_ms: 100,
            rebroadcast_ms: 500,
        }
    }

    pub fn duration(&self, kind: TimeoutKind, round: u32) -> u64 {
        let base = match kind {
            TimeoutKind::Propose => self.propose_ms,
            TimeoutKind::Prevote => self.prevote_ms,
            TimeoutKind::Precommit => self.precommit_ms,
            TimeoutKind::Rebroadcast => return self.rebroadcast_ms,
        };
        base.saturating_add(self.delta_ms.saturating_mul(round as u64))
    }
}

/// Deliberate bugs for checking that the simulator catches them; never on outside tests. Each
/// breaks one rule of Algorithm 1, and `sim.rs` has a schedule that exposes it.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mutations {
    /// Treat more than a third of the power as a quorum instead of more than two thirds (every
    /// 2f+1 of the paper becomes f+1): two quorums no longer share an honest validator.
    /// Breaks agreement.
    pub one_third_quorum: bool,
    /// Prevote for any valid proposal whatever this node is locked on: drops the
    /// `lockedRound = −1 ∨ lockedValue = v` of line 23 and the `lockedRound ≤ vr ∨ lockedValue = v`
    /// of line 29. A value decided in round r had f+1 honest validators locked on it; ignoring
    /// that lock lets a later round gather 2f+1 prevotes for another value. Breaks agreement.
    pub ignore_lock: bool,
    /// Accept a proposal that names a valid round without having the 2f+1 ⟨PREVOTE, vr, id(v)⟩
    /// for it: drops that condition of line 28. A Byzantine proposer then claims any vr ≥ the
    /// honest locks and they prevote its new value as if a newer lock had been proven.
    /// Breaks agreement.
    pub unproven_valid_round: bool,
    /// A proposer forgets its validValue and validRound and always proposes a fresh value:
    /// line 15 (`proposal ← validValue`) never runs, only line 18. A validator locked on v then
    /// never again sees v proposed, prevotes nil on every fresh value, and with f silent
    /// validators no value reaches 2f+1 prevotes. Breaks liveness only (locks keep it safe).
    pub ignore_valid_round: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The network this node signs for: its messages carry the chain id, their signatures cover
    /// the genesis hash too.
    pub domain: SigningDomain,
    pub timeouts: Timeouts,
    #[cfg(test)]
    pub mutations: Mutations,
}

impl Config {
    pub fn new(domain: SigningDomain, timeouts: Timeouts) -> Config {
        Config {
            domain,
            timeouts,
            #[cfg(test)]
            mutations: Mutations::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    StartHeight {
        height: u64,
        validators: ValidatorSet,
    },
    /// A proposal whose signature the host checked, with whether its block is valid (executed).
    Proposal {
        proposal: SignedProposal,
        valid: bool,
    },
    /// A vote whose signature the host checked.
    Vote(SignedVote),
    Timeout(Timeout),
    /// The host's answer to `GetValue`.
    ProposedValue {
        height: u64,
        round: u32,
        value: ValueId,
    },
    /// A commit certificate the host verified (from block sync), with the block's validity.
    Commit {
        commit: Commit,
        valid: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    SignProposal(Proposal),
    SignVote(Vote),
    ScheduleTimeout(Timeout, u64),
    GetValue {
        height: u64,
        round: u32,
    },
    Decide {
        height: u64,
        round: u32,
        value: ValueId,
        commit: Commit,
    },
    Evidence(Evidence),
    /// Re-publish this node's own messages of the height, and relay `proof`: the prevote quorum
    /// behind its valid value, which a node that missed it needs before it may accept that value,
    /// and `proposal`, that value's proposal: a node holding the precommit quorum for it cannot
    /// decide without it, and a proposer may have sent it to only some nodes.
    Rebroadcast {
        height: u64,
        round: u32,
        proof: Vec<SignedVote>,
        proposal: Option<SignedProposal>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum RoundStep {
    Propose,
    Prevote,
    Precommit,
}

/// Messages for the next height are kept until it starts, up to this many.
const MAX_BUFFERED: usize = 4096;
/// ...and up to this many from one signer, so one Byzantine validator of the next height cannot
/// fill the buffer and crowd out everyone else's early messages. An honest validator ahead of
/// this node sends a proposal, a prevote and a precommit for at most its current round plus the
/// catch-up rounds: 3 × (1 + 2) = 9.
pub const MAX_BUFFERED_PER_SIGNER: usize = 16;

/// Rounds beyond the next one that one validator may open here. An honest validator is at most
/// a round or two ahead (its timeouts fired sooner); a Byzantine one signing messages for
/// millions of rounds would otherwise grow the round tables without bound and make every input
/// cost O(rounds). CometBFT keeps the same two "catch-up rounds" per peer.
pub const MAX_CATCHUP_ROUNDS_PER_VALIDATOR: usize = 2;

pub struct Core {
    config: Config,
    me: Option<AccountId>,
    height: u64,
    round: u32,
    step: RoundStep,
    validators: ValidatorSet,
    locked: Option<(ValueId, u32)>,
    valid: Option<(ValueId, u32)>,
    keeper: VoteKeeper,
    proposals: BTreeMap<u32, (SignedProposal, bool)>,
    /// "for the first time" rules already fired: (line, round).
    fired: BTreeSet<(u32, u32)>,
    proposed: BTreeSet<u32>,
    decided: Option<ValueId>,
    buffered: Vec<Input>,
    /// How many of `buffered` each signer sent (at most `MAX_BUFFERED_PER_SIGNER`).
    buffered_by: BTreeMap<AccountId, usize>,
    /// Rounds above `round + 1` each validator has opened: at most
    /// `MAX_CATCHUP_ROUNDS_PER_VALIDATOR` each.
    catchup: BTreeMap<AccountId, BTreeSet<u32>>,
    effects: Vec<Effect>,
}

impl Core {
    /// `me` is this node's validator key, if it is one.
    pub fn new(config: Config, me: Option<AccountId>) -> Core {
        Core {
            config,
            me,
            height: 0,
            round: 0,
            step: RoundStep::Propose,
            validators: ValidatorSet::new(vec![]),
            locked: None,
            valid: None,
            keeper: VoteKeeper::default(),
            proposals: BTreeMap::new(),
            fired: BTreeSet::new(),
            proposed: BTreeSet::new(),
            decided: None,
            buffered: Vec::new(),
            buffered_by: BTreeMap::new(),
            catchup: BTreeMap::new(),
            effects: Vec::new(),
        }
    }

    pub fn height(&self) -> u64 {
        self.height
    }

    pub fn round(&self) -> u32 {
        self.round
    }

    pub fn decided(&self) -> Option<ValueId> {
        self.decided
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `input` can change this core's state: inputs of the current height, and votes and
    /// proposals only from members of its validator set. Nothing else is worth a WAL record:
    /// junk signed by strangers must not grow every node's log.
    pub fn can_use(&self, input: &Input) -> bool {
        if Self::input_height(input) != Some(self.height) {
            return false;
        }
        let member = |who: &AccountId| self.validators.power_of(who) > 0;
        match input {
            Input::Proposal { proposal, .. } => member(&proposal.proposer),
            Input::Vote(v) => member(&v.validator),
            _ => true,
        }
    }

    /// Early inputs buffered for `height` whose senders are in `validators`: the driver logs
    /// them when that height starts, since starting it applies them.
    pub fn buffered_for<'a>(
        &'a self,
        height: u64,
        validators: &'a ValidatorSet,
    ) -> impl Iterator<Item = &'a Input> {
        self.buffered.iter().filter(move |input| {
            Self::input_height(input) == Some(height)
                && match input {
                    Input::Proposal { proposal, .. } => validators.power_of(&proposal.proposer) > 0,
                    Input::Vote(v) => validators.power_of(&v.validator) > 0,
                    _ => true,
                }
        })
    }

    /// Rounds of this height anything is tracked for: bounded by the current round plus
    /// `MAX_CATCHUP_ROUNDS_PER_VALIDATOR` per validator.
    pub fn tracked_rounds(&self) -> usize {
        self.keeper.round_count()
    }

    pub fn handle(&mut self, input: Input) -> Vec<Effect> {
        self.apply(input);
        std::mem::take(&mut self.effects)
    }

    fn input_height(input: &Input) -> Option<u64> {
        match input {
            Input::Proposal { proposal, .. } => Some(proposal.proposal.height),
            Input::Vote(v) => Some(v.vote.height),
            Input::Timeout(t) => Some(t.height),
            Input::ProposedValue { height, .. } => Some(*height),
            Input::Commit { commit, .. } => Some(commit.height),
            Input::StartHeight { .. } => None,
        }
    }

    fn apply(&mut self, input: Input) {
        if let Input::StartHeight { height, validators } = input {
            self.start_height(height, validators);
            return;
        }
        let h = Self::input_height(&input).unwrap_or(0);
        if h != self.height || self.validators.is_empty() {
            if Some(h) == self.height.checked_add(1)
                && self.buffered.len() < MAX_BUFFERED
                && !matches!(input, Input::Timeout(_))
                && self.within_signer_share(&input)
            {
                self.buffered.push(input);
            }
            return;
        }
        match input {
            Input::StartHeight { .. } => unreachable!("handled above"),
            Input::Proposal { proposal, valid } => {
                if self.admit_round(proposal.proposer, proposal.proposal.round) {
                    self.on_proposal(proposal, valid)
                }
            }
            Input::Vote(v) => {
                if self.admit_round(v.validator, v.vote.round) {
                    self.on_vote(v)
                }
            }
            Input::Timeout(t) => self.on_timeout(t),
            Input::ProposedValue { round, value, .. } => {
                if round == self.round
                    && self.step == RoundStep::Propose
                    && self.is_proposer(round)
                    && self.proposed.insert(round)
                {
                    self.sign_proposal(value, None);
                }
            }
            Input::Commit { commit, valid } => self.on_commit(commit, valid),
        }
        if self.decided.is_none() {
            self.check_rules();
        }
    }

    /// Counts a next-height input against its signer's share of the buffer; false when the
    /// signer has used it up. Commits (from sync) and values (from this node) have no signer.
    fn within_signer_share(&mut self, input: &Input) -> bool {
        let signer = match input {
            Input::Proposal { proposal, .. } => proposal.proposer,
            Input::Vote(v) => v.validator,
            _ => return true,
        };
        let used = self.buffered_by.entry(signer).or_default();
        *used = used.saturating_add(1);
        *used <= MAX_BUFFERED_PER_SIGNER
    }

    fn start_height(&mut self, height: u64, validators: ValidatorSet) {
        let carried = std::mem::take(&mut self.buffered);
        let effects = std::mem::take(&mut self.effects);
        *self = Core::new(self.config.clone(), self.me);
        self.effects = effects;
        self.height = height;
        self.validators = validators;
        self.start_round(0);
        for input in carried {
            if Self::input_height(&input) == Some(height) {
                self.apply(input);
            }
        }
    }

    /// Whether a message of `who` for `round` may be tracked: members only, and beyond the next
    /// round only within `who`'s catch-up allowance.
    fn admit_round(&mut self, who: AccountId, round: u32) -> bool {
        if self.validators.power_of(&who) == 0 {
            return false;
        }
        let next = self.round.saturating_add(1);
        if round <= next {
            return true;
        }
        let opened = self.catchup.entry(who).or_default();
        // Rounds this node has since reached no longer count against the allowance.
        opened.retain(|r| *r > next);
        if opened.contains(&round) {
            return true;
        }
        if opened.len() >= MAX_CATCHUP_ROUNDS_PER_VALIDATOR {
            return false;
        }
        opened.insert(round);
        true
    }

    fn is_proposer(&self, round: u32) -> bool {
        self.me.is_some_and(|me| {
            self.validators.proposer(self.height, round) == me && self.validators.power_of(&me) > 0
        })
    }

    fn quorum(&self, power: u128) -> bool {
        #[cfg(test)]
        if self.config.mutations.one_third_quorum {
            return self.validators.is_one_third(power);
        }
        self.validators.is_quorum(power)
    }

    fn schedule(&mut self, kind: TimeoutKind, round: u32) {
        let t = Timeout {
            height: self.height,
            round,
            kind,
        };
        self.effects.push(Effect::ScheduleTimeout(
            t,
            self.config.timeouts.duration(kind, round),
        ));
    }

    fn sign_proposal(&mut self, value: ValueId, pol_round: Option<u32>) {
        self.effects.push(Effect::SignProposal(Proposal {
            chain_id: self.config.domain.chain_id.clone(),
            height: self.height,
            round: self.round,
            value,
            pol_round,
        }));
    }

    fn vote(&mut self, kind: VoteKind, value: Option<ValueId>) {
        let signs = self.me.is_some_and(|me| self.validators.power_of(&me) > 0);
        if signs {
            self.effects.push(Effect::SignVote(Vote {
                chain_id: self.config.domain.chain_id.clone(),
                height: self.height,
                round: self.round,
                kind,
                block_hash: value,
            }));
        }
    }

    /// Line 14's validValue and validRound, which a proposer re-proposes.
    fn valid_to_repropose(&self) -> Option<(ValueId, u32)> {
        #[cfg(test)]
        if self.config.mutations.ignore_valid_round {
            return None;
        }
        self.valid
    }

    /// Lines 11–21: StartRound.
    fn start_round(&mut self, round: u32) {
        self.round = round;
        self.step = RoundStep::Propose;
        if self.is_proposer(round) {
            match self.valid_to_repropose() {
                // Line 15: re-propose the value that already has a prevote quorum.
                Some((v, vr)) => {
                    if self.proposed.insert(round) {
                        self.sign_proposal(v, Some(vr));
                    }
                }
                // Line 18: getValue().
                None => self.effects.push(Effect::GetValue {
                    height: self.height,
                    round,
                }),
            }
        }
        // Line 21 (scheduled for the proposer too, so a proposer that never gets a value still moves on).
        self.schedule(TimeoutKind::Propose, round);
        self.schedule(TimeoutKind::Rebroadcast, round);
    }

    fn on_proposal(&mut self, sp: SignedProposal, valid: bool) {
        let p = &sp.proposal;
        if sp.proposer != self.validators.proposer(self.height, p.round)
            || p.pol_round.is_some_and(|vr| vr >= p.round)
        {
            return;
        }
        let round = p.round;
        self.keeper.heard_from(round, sp.proposer, &self.validators);
        // An equivocating proposer's second proposal for a round is ignored.
        self.proposals.entry(round).or_insert((sp, valid));
    }

    fn on_vote(&mut self, v: SignedVote) {
        if self.validators.power_of(&v.validator) == 0
            || v.vote.chain_id != self.config.domain.chain_id
        {
            return;
        }
        if let Added::Equivocation(e) = self.keeper.add(v, &self.validators) {
            self.effects.push(Effect::Evidence(*e));
        }
    }

    fn on_timeout(&mut self, t: Timeout) {
        match t.kind {
            // Lines 57–60: OnTimeoutPropose.
            TimeoutKind::Propose if t.round == self.round && self.step == RoundStep::Propose => {
                self.vote(VoteKind::Prevote, None);
                self.step = RoundStep::Prevote;
            }
            // Lines 61–64: OnTimeoutPrevote.
            TimeoutKind::Prevote if t.round == self.round && self.step == RoundStep::Prevote => {
                self.vote(VoteKind::Precommit, None);
                self.step = RoundStep::Precommit;
            }
            // Lines 65–67: OnTimeoutPrecommit.
            // The last round has no successor: a height that reaches it stays there (only a
            // Byzantine majority of rounds could get here).
            TimeoutKind::Precommit if t.round == self.round => {
                if let Some(next) = self.round.checked_add(1) {
                    self.start_round(next)
                }
            }
            TimeoutKind::Rebroadcast if t.round == self.round && self.decided.is_none() => {
                let proof = self
                    .valid
                    .map(|(v, vr)| self.keeper.votes_for(vr, VoteKind::Prevote, v))
                    .unwrap_or_default();
                let proposal = self
                    .valid
                    .and_then(|(_, vr)| self.proposals.get(&vr))
                    .map(|(sp, _)| sp.clone());
                self.effects.push(Effect::Rebroadcast {
                    height: self.height,
                    round: self.round,
                    proof,
                    proposal,
                });
                self.schedule(TimeoutKind::Rebroadcast, self.round);
            }
            _ => {}
        }
    }

    fn on_commit(&mut self, commit: Commit, valid: bool) {
        if self.decided.is_some() || !valid {
            return;
        }
        let mut seen = BTreeSet::new();
        let power: u128 = commit
            .signatures
            .iter()
            .filter(|s| seen.insert(s.validator))
            .map(|s| self.validators.power_of(&s.validator) as u128)
            .sum();
        if self.validators.is_quorum(power) {
            self.decide(commit.round, commit.block_hash, Some(commit));
        }
    }

    fn decide(&mut self, round: u32, value: ValueId, certificate: Option<Commit>) {
        self.decided = Some(value);
        let commit = certificate.unwrap_or_else(|| Commit {
            height: self.height,
            round,
            block_hash: value,
            signatures: self
                .keeper
                .votes_for(round, VoteKind::Precommit, value)
                .into_iter()
                .map(|sv| CommitSig {
                    validator: sv.validator,
                    signature: sv.signature,
                })
                .collect(),
        });
        self.effects.push(Effect::Decide {
            height: self.height,
            round,
            value,
            commit,
        });
    }

    fn first_time(&mut self, line: u32, round: u32) -> bool {
        self.fired.insert((line, round))
    }

    fn may_accept(&self, value: ValueId, pol_round: Option<u32>) -> bool {
        #[cfg(test)]
        if self.config.mutations.ignore_lock {
            return true;
        }
        match (self.locked, pol_round) {
            (None, _) => true,
            (Some((lv, _)), _) if lv == value => true,
            // Line 29: lockedRound ≤ vr.
            (Some((_, lr)), Some(vr)) => lr <= vr,
            (Some(_), None) => false,
        }
    }

    /// Line 28's 2f+1 ⟨PREVOTE, vr, id(v)⟩: the proof that `value` was valid in round `vr`.
    fn proven(&self, vr: u32, value: ValueId) -> bool {
        #[cfg(test)]
        if self.config.mutations.unproven_valid_round {
            return true;
        }
        self.quorum(self.keeper.power_for(vr, VoteKind::Prevote, Some(value)))
    }

    /// Applies every upon-rule whose condition holds, until none does.
    fn check_rules(&mut self) {
        loop {
            // Lines 55–56: f+1 messages of a later round → skip to it.
            if let Some(r) = self
                .keeper
                .rounds_above(self.round)
                .into_iter()
                .find(|&r| self.validators.is_one_third(self.keeper.sender_power(r)))
            {
                self.start_round(r);
                continue;
            }
            // Lines 49–54: a proposal and a precommit quorum for its value, in any round → decide.
            let decision = self
                .proposals
                .iter()
                .find(|(r, (sp, valid))| {
                    *valid
                        && self.quorum(self.keeper.power_for(
                            **r,
                            VoteKind::Precommit,
                            Some(sp.proposal.value),
                        ))
                })
                .map(|(r, (sp, _))| (*r, sp.proposal.value));
            if let Some((r, v)) = decision {
                self.decide(r, v, None);
                return;
            }
            let r = self.round;
            let current = self
                .proposals
                .get(&r)
                .map(|(sp, valid)| (sp.proposal.clone(), *valid));
            if let (Some((p, valid)), RoundStep::Propose) = (&current, self.step) {
                match p.pol_round {
                    // Lines 22–27.
                    None => {
                        let accept = *valid && self.may_accept(p.value, None);
                        self.vote(VoteKind::Prevote, accept.then_some(p.value));
                        self.step = RoundStep::Prevote;
                        continue;
                    }
                    // Lines 28–33.
                    Some(vr) if self.proven(vr, p.value) => {
                        let accept = *valid && self.may_accept(p.value, Some(vr));
                        self.vote(VoteKind::Prevote, accept.then_some(p.value));
                        self.step = RoundStep::Prevote;
                        continue;
                    }
                    Some(_) => {}
                }
            }
            // Lines 34–35: any prevote quorum → schedule OnTimeoutPrevote.
            if self.step == RoundStep::Prevote
                && self.quorum(self.keeper.total(r, VoteKind::Prevote))
                && self.first_time(34, r)
            {
                self.schedule(TimeoutKind::Prevote, r);
            }
            // Lines 36–43: a valid proposal with a prevote quorum → lock and precommit (or just record it as valid).
            if let Some((p, true)) = &current {
                if self.step >= RoundStep::Prevote
                    && self.quorum(self.keeper.power_for(r, VoteKind::Prevote, Some(p.value)))
                    && self.first_time(36, r)
                {
                    if self.step == RoundStep::Prevote {
                        self.locked = Some((p.value, r));
                        self.vote(VoteKind::Precommit, Some(p.value));
                        self.step = RoundStep::Precommit;
                    }
                    self.valid = Some((p.value, r));
                    continue;
                }
            }
            // Lines 44–46: a nil prevote quorum → precommit nil.
            if self.step == RoundStep::Prevote
                && self.quorum(self.keeper.power_for(r, VoteKind::Prevote, None))
            {
                self.vote(VoteKind::Precommit, None);
                self.step = RoundStep::Precommit;
                continue;
            }
            // Lines 47–48: any precommit quorum → schedule OnTimeoutPrecommit.
            if self.quorum(self.keeper.total(r, VoteKind::Precommit)) && self.first_time(47, r) {
                self.schedule(TimeoutKind::Precommit, r);
            }
            return;
        }
    }
}

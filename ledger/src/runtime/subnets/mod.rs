//! Subnets on chain: their records, neurons, weights and bonds in state; the calls that change them
//! (`calls`); and per block, emission into pending and each subnet's Yuma epoch (`emission`).

pub mod calls;
pub mod emission;
pub mod genesis;
pub mod pow;
pub mod root;

use crate::runtime::error::TxError;
use crate::runtime::params::{Hyperparameters, SubnetParams, SUBNET_LIMIT};
use crate::state::view::StateView;
use crate::storage::schema::{
    BONDS, EPOCHS, NEURON, SUBNET, SUBNET_REGISTRY as REGISTRY, UID_OF, WEIGHTS,
    WEIGHT_COMMITS as COMMITS,
};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use tensorchain_primitives::AccountId;

/// Owner and sudo changes to hyperparameters (the struct: `params::subnets`).
impl Hyperparameters {
    /// Every value within its bounds given the others (what a chain spec must satisfy).
    pub fn validate(&self) -> Result<(), TxError> {
        for (name, value, _) in self.list() {
            self.clone().set(name, value)?;
        }
        Ok(())
    }

    /// Sets one by name, within its valid range. The bounds keep an owner from locking other
    /// validators out (docs/economics.md lists them): `activity_cutoff ≥ tempo` (a validator
    /// that sets weights every epoch stays active), `weights_rate_limit ≤ tempo` (it can),
    /// `max_allowed_validators ≤ max_allowed_uids`, `min_burn ≤ max_burn`; the rate limits of
    /// free calls are at least 1 block (they bound what costs nothing).
    pub fn set(&mut self, name: &str, value: u64) -> Result<(), TxError> {
        let range = |min: u64, max: u64| -> Result<u64, TxError> {
            if (min..=max).contains(&value) {
                Ok(value)
            } else {
                Err(TxError::HyperparameterOutOfRange {
                    name: name.to_string(),
                    min,
                    max,
                })
            }
        };
        let u16max = u16::MAX as u64;
        let tempo = self.tempo as u64;
        match name {
            "tempo" => {
                let min = self.weights_rate_limit.max(1);
                self.tempo = range(min, (self.activity_cutoff as u64).max(min))? as u16
            }
            "immunity_period" => self.immunity_period = range(0, u16max)? as u16,
            "weights_rate_limit" => self.weights_rate_limit = range(1, tempo)?,
            "kappa" => self.kappa = range(0, u16max)? as u16,
            "bonds_moving_average" => self.bonds_moving_average = range(0, 1_000_000)?,
            "bonds_penalty" => self.bonds_penalty = range(0, u16max)? as u16,
            "yuma_version" => self.yuma_version = range(2, 3)? as u8,
            "liquid_alpha_enabled" => self.liquid_alpha_enabled = range(0, 1)? == 1,
            "alpha_low" => self.alpha_low = range(1638, self.alpha_high as u64)? as u16,
            "alpha_high" => self.alpha_high = range(self.alpha_low as u64, u16max)? as u16,
            "activity_cutoff" => self.activity_cutoff = range(tempo.max(1), u16max)? as u16,
            "min_allowed_weights" => self.min_allowed_weights = range(0, 4096)? as u16,
            "max_weight_limit" => self.max_weight_limit = range(1, u16max)? as u16,
            "weights_version" => self.weights_version = value,
            "max_allowed_uids" => {
                self.max_allowed_uids = range(self.max_allowed_validators as u64, 4096)? as u16
            }
            "max_allowed_validators" => {
                self.max_allowed_validators =
                    range(1, (self.max_allowed_uids as u64).min(256))? as u16
            }
            "min_burn" => self.min_burn = range(0, self.max_burn)?,
            "max_burn" => self.max_burn = range(self.min_burn, u64::MAX)?,
            "registration_allowed" => self.registration_allowed = range(0, 1)? == 1,
            "commit_reveal_enabled" => self.commit_reveal_enabled = range(0, 1)? == 1,
            "serving_rate_limit" => self.serving_rate_limit = range(1, tempo)?,
            _ => {
                return Err(TxError::UnknownHyperparameter {
                    name: name.to_string(),
                })
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Subnet {
    pub netuid: u16,
    pub owner_coldkey: AccountId,
    pub owner_hotkey: AccountId,
    pub identity: String,
    pub registered_at: u64,
    pub hyper: Hyperparameters,
    /// Current registration price (burned), decaying toward `min_burn` every block.
    pub burn: u64,
    /// Emission accumulated for the next epoch.
    pub pending: u64,
    pub last_epoch_block: u64,
    pub n: u16,
    /// Epochs run so far: commit-reveal windows count these, so a tempo change moves no commit.
    pub epoch_count: u64,
    /// Set at each epoch: some permit holder has stake. Until then the subnet gets no emission.
    pub emission_enabled: bool,
    /// Block of the owner's last hyperparameter change (at most one per tempo).
    pub last_owner_change: Option<u64>,
    /// Declared in the chain spec: no owner (the owner fields hold `AccountId::default()`, a key
    /// nobody can sign for), the owner cut is recycled, and emission is never disabled.
    pub genesis: bool,
    pub registration: crate::runtime::params::RegistrationMode,
    /// Difficulty and registration counts; present when the mode allows PoW.
    pub pow: Option<pow::PowState>,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Axon {
    pub ip: [u8; 16],
    pub port: u16,
    pub protocol: u8,
    /// Block it was served at (for `serving_rate_limit`).
    pub block: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Neuron {
    pub hotkey: AccountId,
    pub coldkey: AccountId,
    pub registered_at: u64,
    pub last_update: u64,
    pub axon: Option<Axon>,
    pub rank: u16,
    pub trust: u16,
    pub consensus: u16,
    pub incentive: u16,
    pub dividends: u16,
    pub validator_trust: u16,
    pub stake_weight: u16,
    /// Rao this uid earned in the last epoch.
    pub emission: u64,
    pub validator_permit: bool,
    pub active: bool,
    /// The proof-of-work difficulty it registered at (0 for a burned registration): its vote on
    /// a genesis subnet before anyone has stake (the zero-stake rule weighs work, not heads).
    pub work: u64,
}

impl Neuron {
    pub fn new(hotkey: AccountId, coldkey: AccountId, now: u64) -> Neuron {
        Neuron {
            hotkey,
            coldkey,
            registered_at: now,
            last_update: now,
            axon: None,
            rank: 0,
            trust: 0,
            consensus: 0,
            incentive: 0,
            dividends: 0,
            validator_trust: 0,
            stake_weight: 0,
            emission: 0,
            validator_permit: false,
            active: true,
            work: 0,
        }
    }
}

/// What one epoch did, kept for `/epochs`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct EpochSummary {
    pub block: u64,
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub pending: u64,
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub owner_cut: u64,
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub to_miners: u64,
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub to_validators: u64,
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub recycled: u64,
    pub n: u16,
}

/// Chain-wide subnet bookkeeping: the lock cost's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Registry {
    pub last_lock_cost: u64,
    pub last_lock_block: u64,
}

fn key(tag: u8, netuid: u16, rest: &[u8]) -> Vec<u8> {
    let mut k = vec![tag];
    k.extend_from_slice(&netuid.to_be_bytes());
    k.extend_from_slice(rest);
    k
}

pub fn subnet_key(netuid: u16) -> Vec<u8> {
    key(SUBNET, netuid, &[])
}
pub fn neuron_key(netuid: u16, uid: u16) -> Vec<u8> {
    key(NEURON, netuid, &uid.to_be_bytes())
}
pub fn uid_key(netuid: u16, hotkey: &AccountId) -> Vec<u8> {
    key(UID_OF, netuid, &hotkey.0)
}
pub fn weights_key(netuid: u16, uid: u16) -> Vec<u8> {
    key(WEIGHTS, netuid, &uid.to_be_bytes())
}
pub fn bonds_key(netuid: u16, uid: u16) -> Vec<u8> {
    key(BONDS, netuid, &uid.to_be_bytes())
}
pub fn epoch_key(netuid: u16, block: u64) -> Vec<u8> {
    key(EPOCHS, netuid, &block.to_be_bytes())
}
pub fn epochs_prefix(netuid: u16) -> Vec<u8> {
    key(EPOCHS, netuid, &[])
}
pub fn subnets_prefix() -> Vec<u8> {
    vec![SUBNET]
}
pub fn commits_key(netuid: u16, hotkey: &AccountId) -> Vec<u8> {
    key(COMMITS, netuid, &hotkey.0)
}

/// An unrevealed weights commit, made when the subnet had run `epoch` epochs: it may be revealed
/// after exactly one more epoch, and expires unrevealed at the epoch after that.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct WeightsCommit {
    pub hash: tensorchain_primitives::Hash,
    pub epoch: u64,
    pub block: u64,
}

pub fn registry_key() -> Vec<u8> {
    vec![REGISTRY]
}

/// Typed access to one subnet's records through a state view.
pub fn subnet(view: &StateView, netuid: u16) -> Result<Option<Subnet>, TxError> {
    Ok(view.get(&subnet_key(netuid))?)
}

pub fn neuron(view: &StateView, netuid: u16, uid: u16) -> Result<Option<Neuron>, TxError> {
    Ok(view.get(&neuron_key(netuid, uid))?)
}

pub fn uid_of(view: &StateView, netuid: u16, hotkey: &AccountId) -> Result<Option<u16>, TxError> {
    Ok(view.get(&uid_key(netuid, hotkey))?)
}

pub type Row = Vec<(u16, u16)>;

pub fn weights(view: &StateView, netuid: u16, uid: u16) -> Result<Row, TxError> {
    Ok(view.get(&weights_key(netuid, uid))?.unwrap_or_default())
}

pub fn bonds(view: &StateView, netuid: u16, uid: u16) -> Result<Row, TxError> {
    Ok(view.get(&bonds_key(netuid, uid))?.unwrap_or_default())
}

/// The live subnets' netuids, ascending (at most 128 reads).
pub fn netuids(view: &StateView) -> Result<Vec<u16>, TxError> {
    let mut out = Vec::new();
    for netuid in 1..=SUBNET_LIMIT {
        if view.get_raw(&subnet_key(netuid))?.is_some() {
            out.push(netuid);
        }
    }
    Ok(out)
}

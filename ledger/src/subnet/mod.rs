//! Subnets on chain: their records, neurons, weights and bonds in state; the calls that change them
//! (`calls`); and per block, emission into pending and each subnet's Yuma epoch (`emission`).

pub mod calls;
pub mod emission;
pub mod genesis;
pub mod pow;
pub mod root;

use crate::execute::TxError;
use crate::view::StateView;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use tensorchain_primitives::{AccountId, RAO_PER_TAO};

const SUBNET: u8 = 0x10;
const NEURON: u8 = 0x11;
const UID_OF: u8 = 0x12;
const WEIGHTS: u8 = 0x13;
const BONDS: u8 = 0x14;
const EPOCHS: u8 = 0x15;
const REGISTRY: u8 = 0x16;
const COMMITS: u8 = 0x1a;

/// The most subnets (netuid 1..=128).
pub const SUBNET_LIMIT: u16 = 128;

/// Per-subnet hyperparameters (protocol.md, yuma.md §9), in their on-chain integer forms.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hyperparameters {
    pub tempo: u16,
    pub immunity_period: u16,
    pub weights_rate_limit: u64,
    pub kappa: u16,
    pub bonds_moving_average: u64,
    pub bonds_penalty: u16,
    pub yuma_version: u8,
    pub liquid_alpha_enabled: bool,
    pub alpha_low: u16,
    pub alpha_high: u16,
    pub activity_cutoff: u16,
    pub min_allowed_weights: u16,
    pub max_weight_limit: u16,
    pub weights_version: u64,
    pub max_allowed_uids: u16,
    pub max_allowed_validators: u16,
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub min_burn: u64,
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub max_burn: u64,
    pub registration_allowed: bool,
    /// Weights are committed as hashes and revealed one epoch later.
    pub commit_reveal_enabled: bool,
    /// Blocks between two `serve_axon` calls of one hotkey (the call is free, so it is bounded).
    #[serde(default = "default_serving_rate_limit")]
    pub serving_rate_limit: u64,
}

fn default_serving_rate_limit() -> u64 {
    Hyperparameters::mainnet().serving_rate_limit
}

impl Hyperparameters {
    pub fn mainnet() -> Hyperparameters {
        Hyperparameters {
            tempo: 360,
            immunity_period: 5000,
            weights_rate_limit: 100,
            kappa: 32767,
            bonds_moving_average: 900_000,
            bonds_penalty: 65535,
            yuma_version: 3,
            liquid_alpha_enabled: false,
            alpha_low: 45875,
            alpha_high: 58982,
            activity_cutoff: 5000,
            min_allowed_weights: 1,
            max_weight_limit: 65535,
            weights_version: 0,
            max_allowed_uids: 256,
            max_allowed_validators: 64,
            min_burn: 500_000,
            max_burn: 100 * RAO_PER_TAO,
            registration_allowed: true,
            commit_reveal_enabled: false,
            serving_rate_limit: 50,
        }
    }

    pub fn devnet() -> Hyperparameters {
        Hyperparameters {
            tempo: 10,
            immunity_period: 50,
            weights_rate_limit: 1,
            serving_rate_limit: 2,
            ..Self::mainnet()
        }
    }

    /// Name, current value, and whether the subnet owner (not only sudo) may set it.
    pub fn list(&self) -> Vec<(&'static str, u64, bool)> {
        vec![
            ("tempo", self.tempo as u64, false),
            ("immunity_period", self.immunity_period as u64, true),
            ("weights_rate_limit", self.weights_rate_limit, true),
            ("kappa", self.kappa as u64, false),
            ("bonds_moving_average", self.bonds_moving_average, true),
            ("bonds_penalty", self.bonds_penalty as u64, true),
            ("yuma_version", self.yuma_version as u64, true),
            (
                "liquid_alpha_enabled",
                self.liquid_alpha_enabled as u64,
                true,
            ),
            ("alpha_low", self.alpha_low as u64, true),
            ("alpha_high", self.alpha_high as u64, true),
            ("activity_cutoff", self.activity_cutoff as u64, true),
            ("min_allowed_weights", self.min_allowed_weights as u64, true),
            ("max_weight_limit", self.max_weight_limit as u64, true),
            ("weights_version", self.weights_version, true),
            ("max_allowed_uids", self.max_allowed_uids as u64, false),
            (
                "max_allowed_validators",
                self.max_allowed_validators as u64,
                false,
            ),
            ("min_burn", self.min_burn, true),
            ("max_burn", self.max_burn, true),
            (
                "registration_allowed",
                self.registration_allowed as u64,
                true,
            ),
            (
                "commit_reveal_enabled",
                self.commit_reveal_enabled as u64,
                true,
            ),
            ("serving_rate_limit", self.serving_rate_limit, true),
        ]
    }

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

/// Chain-wide subnet rules fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetParams {
    pub defaults: Hyperparameters,
    /// The lock cost never falls below this.
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub lock_cost_floor: u64,
    /// Blocks over which a doubled lock cost decays back to the floor.
    pub lock_decay_blocks: u64,
    /// A new subnet cannot be replaced for this many blocks.
    pub network_immunity_blocks: u64,
    /// The owner's cut of each epoch's emission, in parts per million (18% = 180000).
    pub owner_cut_ppm: u32,
    /// Settled stake that validators other than the owner must hold on a subnet (with permits)
    /// before it receives emission: below it a subnet is `emission_disabled`.
    #[serde(
        default = "default_min_enabling_stake",
        with = "tensorchain_primitives::amount::as_string"
    )]
    pub min_enabling_stake: u64,
    /// Subnets that exist from block 0, with no owner (docs/launch.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genesis_subnets: Vec<genesis::GenesisSubnet>,
}

fn default_min_enabling_stake() -> u64 {
    100 * RAO_PER_TAO
}

impl SubnetParams {
    pub fn mainnet() -> SubnetParams {
        SubnetParams {
            defaults: Hyperparameters::mainnet(),
            lock_cost_floor: 1000 * RAO_PER_TAO,
            lock_decay_blocks: 14 * 7200,
            network_immunity_blocks: 7 * 7200,
            owner_cut_ppm: 180_000,
            min_enabling_stake: default_min_enabling_stake(),
            genesis_subnets: vec![],
        }
    }

    pub fn devnet() -> SubnetParams {
        SubnetParams {
            defaults: Hyperparameters::devnet(),
            lock_cost_floor: 10 * RAO_PER_TAO,
            lock_decay_blocks: 100,
            network_immunity_blocks: 100,
            owner_cut_ppm: 180_000,
            min_enabling_stake: default_min_enabling_stake(),
            genesis_subnets: vec![],
        }
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
    pub registration: pow::RegistrationMode,
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

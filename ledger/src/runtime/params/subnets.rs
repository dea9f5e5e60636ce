//! Subnet rules fixed at genesis: default hyperparameters, lock costs, the subnets that exist from
//! block 0 and how they register neurons.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use tensorchain_primitives::RAO_PER_TAO;

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
    pub genesis_subnets: Vec<GenesisSubnet>,
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

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisSubnet {
    pub netuid: u16,
    pub name: String,
    pub registration: RegistrationMode,
    /// Needed when `registration` is "pow" or "both".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pow: Option<PowParams>,
    /// The subnet's hyperparameters; the chain's defaults when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hyperparameters: Option<Hyperparameters>,
}

/// How a subnet takes new neurons.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    /// `burned_register`: pay the burn price (recycled).
    Burn,
    /// `pow_register`: free, for work.
    Pow,
    Both,
}

impl RegistrationMode {
    pub fn name(self) -> &'static str {
        match self {
            RegistrationMode::Burn => "burn",
            RegistrationMode::Pow => "pow",
            RegistrationMode::Both => "both",
        }
    }
    pub fn allows_pow(self) -> bool {
        self != RegistrationMode::Burn
    }
    pub fn allows_burn(self) -> bool {
        self != RegistrationMode::Pow
    }
}

/// A PoW subnet's fixed rules (subtensor's names).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowParams {
    /// The difficulty at genesis: on average this many hashes per solution.
    pub difficulty: u64,
    pub min_difficulty: u64,
    pub max_difficulty: u64,
    pub adjustment_interval: u64,
    pub target_registrations_per_interval: u32,
    pub max_registrations_per_block: u32,
}

impl PowParams {
    /// Mainnet: subtensor's interval (112 blocks) and per-block cap; ten million hashes to start
    /// (seconds on one core), never below ten thousand.
    pub fn mainnet() -> PowParams {
        PowParams {
            difficulty: 10_000_000,
            min_difficulty: 10_000,
            max_difficulty: 1 << 50,
            adjustment_interval: 112,
            target_registrations_per_interval: 2,
            max_registrations_per_block: 1,
        }
    }

    /// Test networks: a solution in well under a second.
    pub fn testnet() -> PowParams {
        PowParams {
            difficulty: 20_000,
            min_difficulty: 1_000,
            max_difficulty: 1 << 40,
            adjustment_interval: 20,
            target_registrations_per_interval: 4,
            max_registrations_per_block: 4,
        }
    }

    pub fn validate(&self) -> Result<(), GenesisSubnetError> {
        if self.min_difficulty == 0 || self.min_difficulty > self.max_difficulty {
            return Err(GenesisSubnetError::PowDifficultyBounds);
        }
        if !(self.min_difficulty..=self.max_difficulty).contains(&self.difficulty) {
            return Err(GenesisSubnetError::PowDifficultyOutOfBounds);
        }
        if self.adjustment_interval == 0
            || self.target_registrations_per_interval == 0
            || self.max_registrations_per_block == 0
        {
            return Err(GenesisSubnetError::PowZeroRate);
        }
        Ok(())
    }
}

/// Why the spec's genesis subnets (or a subnet's PoW rules) make no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisSubnetError {
    #[error("genesis subnet netuid {netuid} is not in 1..=128")]
    NetuidOutOfRange { netuid: u16 },
    #[error("genesis subnet {netuid} is declared twice")]
    Duplicate { netuid: u16 },
    #[error("genesis subnet {netuid}: name over 64 bytes")]
    NameTooLong { netuid: u16 },
    #[error("genesis subnet {netuid} registers by pow but has no pow rules")]
    PowRulesMissing { netuid: u16 },
    #[error("genesis subnet {netuid} registers by burn: drop its pow rules")]
    PowRulesUnused { netuid: u16 },
    #[error("genesis subnet {netuid}: {source}")]
    Pow {
        netuid: u16,
        #[source]
        source: Box<GenesisSubnetError>,
    },
    #[error("pow: need 1 ≤ min_difficulty ≤ max_difficulty")]
    PowDifficultyBounds,
    #[error("pow: difficulty must be within [min_difficulty, max_difficulty]")]
    PowDifficultyOutOfBounds,
    #[error("pow: adjustment_interval, target_registrations_per_interval and max_registrations_per_block must be positive")]
    PowZeroRate,
}

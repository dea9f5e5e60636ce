//! The chain's rules fixed at genesis: fees, subnet and validator rules, the devnet faucet.

pub mod subnets;
pub mod validators;

pub use subnets::{
    GenesisSubnet, GenesisSubnetError, Hyperparameters, PowParams, RegistrationMode, SubnetParams,
};
pub use validators::{ValidatorParams, EVIDENCE_MAX_AGE};

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use tensorchain_primitives::{AccountId, Call, CallKind, FeeClass};

/// The most subnets (netuid 1..=128).
pub const SUBNET_LIMIT: u16 = 128;

/// Consensus parameters fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ChainParams {
    pub chain_id: String,
    pub block_time_ms: u64,
    pub fees: Fees,
    /// May set any subnet hyperparameter (devnet only).
    pub sudo: Option<AccountId>,
    pub subnets: SubnetParams,
    pub validators: ValidatorParams,
    /// Devnets only: rao minted for a proof of work (`Call::Faucet`).
    pub faucet: Option<FaucetParams>,
}

/// The devnet faucet's payout and the work it asks for.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaucetParams {
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub amount: u64,
    pub difficulty: u64,
}

/// The fixed fee per call kind, in rao.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub transfer: u64,
    /// add_stake, remove_stake and set_take.
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub staking: u64,
    /// register_subnet, burned_register and set_hyperparameter. serve_axon and set_weights are
    /// free: hotkeys sign them and rarely hold TAO; rate limits bound them instead.
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub subnet: u64,
}

impl Fees {
    /// The fee of `call`: fixed per call kind, so nobody can bid (docs/mempool.md).
    pub fn for_call(&self, call: &Call) -> u64 {
        self.for_class(call.fee_class())
    }

    pub fn for_class(&self, class: FeeClass) -> u64 {
        match class {
            FeeClass::Transfer => self.transfer,
            FeeClass::Staking => self.staking,
            FeeClass::Subnet => self.subnet,
            FeeClass::Free => 0,
        }
    }

    /// Every call's name with its fee, in call order (for `GET /v1/chain`).
    pub fn by_call_name(&self) -> Vec<(&'static str, u64)> {
        CallKind::all()
            .map(|k| (k.name(), self.for_class(k.fee_class())))
            .collect()
    }
}

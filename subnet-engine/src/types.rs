//! What an epoch reads and what it produces. The ledger builds an `EpochInput` from state and
//! stores and pays what the `EpochOutput` says; nothing in this crate touches storage.

use crate::fx::Fx;

/// A sparse matrix row: (column uid, value), uids ascending.
pub type SparseRow<T> = Vec<(u16, T)>;

/// Subnet hyperparameters the epoch uses, in their on-chain integer forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub kappa_u16: u16,
    pub bonds_moving_average: u64,
    pub bonds_penalty_u16: u16,
    pub tempo: u64,
    pub activity_cutoff: u64,
    pub max_allowed_validators: u16,
    pub stake_threshold: u64,
    pub yuma3: bool,
    pub liquid_alpha: bool,
    pub alpha_low_u16: u16,
    pub alpha_high_u16: u16,
    pub alpha_sigmoid_steepness: i16,
    pub commit_reveal: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            kappa_u16: 32767,
            bonds_moving_average: 900_000,
            bonds_penalty_u16: 65535,
            tempo: 360,
            activity_cutoff: 5000,
            max_allowed_validators: 64,
            stake_threshold: 0,
            yuma3: true,
            liquid_alpha: false,
            alpha_low_u16: 45875,
            alpha_high_u16: 58982,
            alpha_sigmoid_steepness: 1000,
            commit_reveal: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpochInput {
    /// Stake per uid in rao.
    pub stake: Vec<u64>,
    /// Stored weight rows (validator → uid), u16 as set; missing rows are empty.
    pub weights: Vec<SparseRow<u16>>,
    /// Stored bond rows as proportions in [0, 1] (u16 / 65535 on chain).
    pub bonds: Vec<SparseRow<Fx>>,
    pub last_update: Vec<u64>,
    pub block_at_registration: Vec<u64>,
    pub current_block: u64,
    /// Permits written by the previous epoch.
    pub validator_permit: Vec<bool>,
    pub owner_uid: Option<u16>,
    /// Block of the previous epoch; 0 if unknown.
    pub last_epoch_block: u64,
    /// Block of each validator's earliest unexpired weight commit (commit-reveal only).
    pub commit_block: Vec<Option<u64>>,
    /// Rao this epoch distributes.
    pub emission: u64,
    pub params: Params,
}

/// What happens to a uid's stored bond row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BondRow {
    /// No permit before or after: the row stays as stored.
    Untouched,
    /// The uid lost its permit: the row is erased.
    Cleared,
    /// The uid holds a new permit: the row is replaced (zeros omitted).
    Set(SparseRow<u16>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpochOutput {
    pub n: usize,
    pub active: Vec<bool>,
    pub stake: Vec<Fx>,
    pub active_stake: Vec<Fx>,
    pub validator_permit_used: Vec<bool>,
    pub new_validator_permit: Vec<bool>,
    pub weights_effective: Vec<SparseRow<Fx>>,
    pub consensus: Vec<Fx>,
    pub clipped_weights: Vec<SparseRow<Fx>>,
    pub validator_trust: Vec<Fx>,
    pub rank_raw: Vec<Fx>,
    pub incentive: Vec<Fx>,
    /// Legacy server trust: clipped rank over unclipped rank.
    pub trust: Vec<Fx>,
    pub dividends: Vec<Fx>,
    pub ema_bonds: Vec<SparseRow<Fx>>,
    /// The bond values stored for rows with a new permit (zero rows elsewhere).
    pub new_bonds: Vec<SparseRow<Fx>>,
    pub new_bonds_u16: Vec<BondRow>,
    pub server_emission: Vec<u64>,
    pub validator_emission: Vec<u64>,
    pub emission: Vec<u64>,
    pub normalized_server_emission: Vec<Fx>,
    pub normalized_validator_emission: Vec<Fx>,
    pub normalized_combined_emission: Vec<Fx>,
    pub last_tempo: u64,
    /// The scalar EMA coefficient, when one was used.
    pub bonds_alpha: Option<Fx>,
}

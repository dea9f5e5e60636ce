//! A template subnet, in two flavours that reward different things, with miners of several
//! strategies and a validator that queries them and sets weights — what `tensorchain devnet up`
//! runs on subnets 1 and 2, and what `tensorchain subnet template run` starts one of.
//!
//! - [`quality`]: fit a line to noisy points; scored by error on held-out points.
//! - [`speed`]: solve a hash puzzle; scored by correctness first, then latency.
//!
//! Read [`miner`] and [`validator`] to write a subnet of your own: each is one loop.

pub mod miner;
pub mod quality;
pub mod speed;
pub mod validator;

use crate::error::SdkError;
use serde::Serialize;
use std::str::FromStr;

/// The subnet identity (name) that selects each objective: a template run reads the subnet's name
/// to know what its validators ask.
pub const QUALITY_NAME: &str = "template-quality";
pub const SPEED_NAME: &str = "template-speed";

/// Least stake a template miner asks of its callers: validators have it, miners do not, so a
/// miner cannot have another miner do its work.
pub const MIN_CALLER_STAKE: u64 = 100 * tensorchain_primitives::RAO_PER_TAO;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    Quality,
    Speed,
}

impl Objective {
    /// The objective of a subnet by its name, if it is a template subnet.
    pub fn of_subnet(name: &str) -> Option<Objective> {
        match name {
            QUALITY_NAME => Some(Objective::Quality),
            SPEED_NAME => Some(Objective::Speed),
            _ => None,
        }
    }

    pub fn subnet_name(self) -> &'static str {
        match self {
            Objective::Quality => QUALITY_NAME,
            Objective::Speed => SPEED_NAME,
        }
    }
}

/// How a template miner plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Accurate but slow: the best answer, after taking its time.
    Careful,
    /// Fast but sloppy: answers at once, with a rough line (quality) or the first solution (speed).
    Quick,
    /// Cheats: answers at once with made-up numbers.
    Wrong,
    /// Cheats: asks another miner's axon and passes its answer on.
    Copy,
    /// Cheats: registered and announced, but nothing listens at its axon.
    Offline,
}

pub const STRATEGIES: [Strategy; 5] = [
    Strategy::Careful,
    Strategy::Quick,
    Strategy::Wrong,
    Strategy::Copy,
    Strategy::Offline,
];

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Careful => "careful",
            Strategy::Quick => "quick",
            Strategy::Wrong => "wrong",
            Strategy::Copy => "copy",
            Strategy::Offline => "offline",
        }
    }
}

impl FromStr for Strategy {
    type Err = SdkError;
    fn from_str(s: &str) -> Result<Strategy, SdkError> {
        STRATEGIES
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| {
                SdkError::new(
                    "unknown_strategy",
                    format!("no miner strategy '{s}'"),
                    "use careful, quick, wrong, copy or offline",
                )
            })
    }
}

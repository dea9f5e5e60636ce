//! Subnets declared in the chain spec: they exist from block 0 with no owner, so a chain with no
//! pre-mine has somewhere to mint from its first block (docs/launch.md).

use super::pow::PowState;
use super::Subnet;
use crate::runtime::params::SUBNET_LIMIT;
use crate::runtime::params::{GenesisSubnetError, SubnetParams};
use crate::state::view::StateView;
use tensorchain_primitives::AccountId;

/// The spec's genesis subnets make sense: netuids 1..=128 and distinct, PoW rules where PoW is on.
pub fn validate(p: &SubnetParams) -> Result<(), GenesisSubnetError> {
    let mut seen = std::collections::BTreeSet::new();
    for g in &p.genesis_subnets {
        if g.netuid == 0 || g.netuid > SUBNET_LIMIT {
            return Err(GenesisSubnetError::NetuidOutOfRange { netuid: g.netuid });
        }
        if !seen.insert(g.netuid) {
            return Err(GenesisSubnetError::Duplicate { netuid: g.netuid });
        }
        if g.name.len() > 64 {
            return Err(GenesisSubnetError::NameTooLong { netuid: g.netuid });
        }
        match (&g.pow, g.registration.allows_pow()) {
            (Some(pow), true) => pow.validate().map_err(|e| GenesisSubnetError::Pow {
                netuid: g.netuid,
                source: Box::new(e),
            })?,
            (None, true) => return Err(GenesisSubnetError::PowRulesMissing { netuid: g.netuid }),
            (Some(_), false) => {
                return Err(GenesisSubnetError::PowRulesUnused { netuid: g.netuid })
            }
            (None, false) => {}
        }
    }
    Ok(())
}

/// Writes the genesis subnets: ownerless, emission on from the start, no neurons yet.
pub fn write(view: &mut StateView, p: &SubnetParams) {
    for g in &p.genesis_subnets {
        let hyper = g
            .hyperparameters
            .clone()
            .unwrap_or_else(|| p.defaults.clone());
        let s = Subnet {
            netuid: g.netuid,
            owner_coldkey: AccountId::default(),
            owner_hotkey: AccountId::default(),
            identity: g.name.clone(),
            registered_at: 0,
            burn: super::emission::clamp_burn(hyper.min_burn, &hyper),
            hyper,
            pending: 0,
            last_epoch_block: 0,
            n: 0,
            epoch_count: 0,
            emission_enabled: true,
            last_owner_change: None,
            genesis: true,
            registration: g.registration,
            pow: g.pow.clone().map(|pp| PowState::new(pp, 0)),
        };
        view.put(super::subnet_key(g.netuid), &s);
    }
}

use serde::{Deserialize, Serialize};
use std::path::Path;
use tensorchain_ledger::runtime::params::{
    FaucetParams, GenesisSubnet, Hyperparameters, PowParams, RegistrationMode, SubnetParams,
    ValidatorParams,
};
use tensorchain_ledger::{ChainParams, Fees, GenesisState, TxError};
use tensorchain_primitives::{AccountId, Hash, Keypair, SigningDomain, Validator, RAO_PER_TAO};
use thiserror::Error;

/// The dev accounts of the devnet preset, in order; the first N are its validators.
pub const DEV_ACCOUNTS: [&str; 6] = ["alice", "bob", "charlie", "dave", "eve", "ferdie"];

/// Whether a chain id names a devnet: the only chains where dev keys (whose secrets anyone can
/// derive) may sign and a faucet may mint.
pub fn is_devnet_chain_id(chain_id: &str) -> bool {
    chain_id.contains("devnet")
}

/// A dev coldkey: secret = blake3("tensorchain/dev/" ‖ name).
pub fn dev_coldkey(name: &str) -> Keypair {
    Keypair::dev(name)
}

/// A dev hotkey: secret = blake3("tensorchain/dev/" ‖ name ‖ "/hot").
pub fn dev_hotkey(name: &str) -> Keypair {
    Keypair::dev(&format!("{name}/hot"))
}

mod rao {
    pub use tensorchain_primitives::amount::as_string::{deserialize, serialize};
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAllocation {
    pub address: AccountId,
    #[serde(with = "rao")]
    pub balance: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    pub hotkey: AccountId,
    /// Owner of the stake; its coldkey.
    pub coldkey: AccountId,
    /// Stake bonded at genesis; counts toward issuance. Zero on a no-premine chain, where
    /// each genesis validator votes with power 1 until stake exists.
    #[serde(with = "rao")]
    pub stake: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    pub chain_id: String,
    pub genesis_time_ms: u64,
    pub block_time_ms: u64,
    pub max_validators: u32,
    pub validator_epoch: u64,
    pub fees: Fees,
    pub validators: Vec<GenesisValidator>,
    pub allocations: Vec<GenesisAllocation>,
    /// May set any hyperparameter (devnet only).
    pub sudo: Option<AccountId>,
    /// Subnet rules: hyperparameter defaults, lock cost, owner cut, genesis subnets.
    pub subnets: SubnetParams,
    /// No-premine launch: when the stake-elected set takes over from the zero-stake genesis
    /// (bootstrap) validators. Absent: as soon as any candidate has stake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapHandover>,
    /// Devnets only (a chain id containing "devnet"): TAO for proof of work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faucet: Option<FaucetParams>,
}

/// The rule by which bootstrap validators hand over (docs/launch.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapHandover {
    /// Total stake the elected set must hold.
    #[serde(with = "rao")]
    pub handover_stake: u64,
    /// Validators the elected set must have.
    pub handover_validators: u32,
}

/// Genesis subnet 1 of the no-premine presets: ownerless, registration by proof of work.
fn pow_subnet(pow: PowParams, hyperparameters: Option<Hyperparameters>) -> GenesisSubnet {
    GenesisSubnet {
        netuid: 1,
        name: "genesis".into(),
        registration: RegistrationMode::Pow,
        pow: Some(pow),
        hyperparameters,
    }
}

#[derive(Debug, Error)]
pub enum SpecError {
    #[error("cannot read chain spec {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("chain spec {path} is not valid: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("chain spec is not valid: {0}")]
    Invalid(#[from] InvalidSpec),
}

/// The rule a chain spec breaks.
#[derive(Debug, Error)]
pub enum InvalidSpec {
    #[error("chain_id must be 1 to 64 characters")]
    ChainIdLength,
    #[error("block_time_ms must be at least 50")]
    BlockTimeTooShort,
    #[error("at least one genesis validator is needed")]
    NoValidators,
    #[error("genesis validator {0} is listed twice")]
    DuplicateValidator(AccountId),
    #[error("allocation to {0} is listed twice")]
    DuplicateAllocation(AccountId),
    #[error("subnets.defaults: {0}")]
    SubnetDefaults(#[source] TxError),
    #[error("allocations and stakes exceed the 21M TAO supply")]
    OverSupply,
    /// The ledger's check of the genesis subnets.
    #[error(transparent)]
    GenesisSubnets(#[from] tensorchain_ledger::runtime::params::GenesisSubnetError),
    #[error("a faucet is for devnets only (a chain id containing \"devnet\")")]
    FaucetNotOnDevnet,
    #[error("faucet difficulty must be positive")]
    FaucetDifficulty,
    #[error("bootstrap.handover_validators exceeds max_validators")]
    HandoverAboveMaxValidators,
    #[error("bootstrap needs handover_validators and handover_stake above 0")]
    HandoverZero,
}

const TRANSFER_FEE: u64 = 100_000; // 0.0001 TAO

impl ChainSpec {
    /// The devnet preset: funded dev accounts, the first `validators` of them staked validators.
    pub fn devnet(validators: usize, genesis_time_ms: u64) -> ChainSpec {
        let validators = validators.clamp(1, 4);
        ChainSpec {
            chain_id: "tensorchain-devnet".into(),
            genesis_time_ms,
            block_time_ms: 1000,
            max_validators: 32,
            validator_epoch: 100,
            fees: Fees {
                transfer: TRANSFER_FEE,
                staking: TRANSFER_FEE,
                subnet: TRANSFER_FEE,
            },
            validators: DEV_ACCOUNTS[..validators]
                .iter()
                .map(|n| GenesisValidator {
                    hotkey: dev_hotkey(n).account(),
                    coldkey: dev_coldkey(n).account(),
                    stake: 100_000 * RAO_PER_TAO,
                })
                .collect(),
            allocations: DEV_ACCOUNTS
                .iter()
                .map(|n| GenesisAllocation {
                    address: dev_coldkey(n).account(),
                    balance: 1_000_000 * RAO_PER_TAO,
                })
                .collect(),
            sudo: Some(dev_coldkey("alice").account()),
            subnets: SubnetParams::devnet(),
            bootstrap: None,
            // A tenth of a second of work for 100 TAO: a new wallet needs no dev key.
            faucet: Some(FaucetParams {
                amount: 100 * RAO_PER_TAO,
                difficulty: 100_000,
            }),
        }
    }

    /// The no-premine preset: no allocations and no stake at all; every rao will come from
    /// emission. Genesis subnet 1 registers by proof of work, and the bootstrap validators hand
    /// over once 8 elected validators hold 10,000 TAO between them.
    pub fn mainnet(validator_hotkeys: &[AccountId], genesis_time_ms: u64) -> ChainSpec {
        let mut subnets = SubnetParams::mainnet();
        subnets.genesis_subnets = vec![pow_subnet(PowParams::mainnet(), None)];
        ChainSpec {
            chain_id: "tensorchain".into(),
            genesis_time_ms,
            block_time_ms: 12_000,
            max_validators: 32,
            validator_epoch: 100,
            fees: Fees {
                transfer: TRANSFER_FEE,
                staking: TRANSFER_FEE,
                subnet: TRANSFER_FEE,
            },
            validators: validator_hotkeys
                .iter()
                .map(|hk| GenesisValidator {
                    hotkey: *hk,
                    coldkey: *hk,
                    stake: 0,
                })
                .collect(),
            allocations: vec![],
            sudo: None,
            subnets,
            bootstrap: Some(BootstrapHandover {
                handover_stake: 10_000 * RAO_PER_TAO,
                handover_validators: 8,
            }),
            faucet: None,
        }
    }

    /// A no-premine test network (`testnet init --no-premine`): the mainnet rules with fast
    /// blocks, short tempos, a quick PoW difficulty and a handover after `handover` (validators,
    /// total stake).
    pub fn no_premine_testnet(
        validator_hotkeys: &[AccountId],
        genesis_time_ms: u64,
        block_time_ms: u64,
        handover: (u32, u64),
    ) -> ChainSpec {
        let mut spec = ChainSpec::mainnet(validator_hotkeys, genesis_time_ms);
        spec.chain_id = "tensorchain-testnet".into();
        spec.block_time_ms = block_time_ms;
        spec.validator_epoch = 20;
        let mut subnets = SubnetParams::devnet();
        subnets.genesis_subnets = vec![pow_subnet(PowParams::testnet(), None)];
        spec.subnets = subnets;
        spec.bootstrap = Some(BootstrapHandover {
            handover_validators: handover.0,
            handover_stake: handover.1,
        });
        spec
    }

    /// A funded test network (`testnet init` without `--no-premine`): each validator's coldkey
    /// holds 100,000 TAO and has bonded 10,000 TAO on its hotkey (32 validators stay far below
    /// the 21M supply); unlike the devnet the keys are fresh (no dev keys, no sudo, no faucet) and the chain id is not a devnet's.
    pub fn funded_testnet(
        validators: &[(AccountId, AccountId)],
        genesis_time_ms: u64,
        block_time_ms: u64,
    ) -> ChainSpec {
        let mut spec = ChainSpec::devnet(1, genesis_time_ms);
        spec.chain_id = "tensorchain-testnet".into();
        spec.block_time_ms = block_time_ms;
        spec.validators = validators
            .iter()
            .map(|(hotkey, coldkey)| GenesisValidator {
                hotkey: *hotkey,
                coldkey: *coldkey,
                stake: 10_000 * RAO_PER_TAO,
            })
            .collect();
        spec.allocations = validators
            .iter()
            .map(|(_, coldkey)| GenesisAllocation {
                address: *coldkey,
                balance: 100_000 * RAO_PER_TAO,
            })
            .collect();
        spec.sudo = None;
        spec.faucet = None;
        spec
    }

    pub fn load(path: &Path) -> Result<ChainSpec, SpecError> {
        let text = std::fs::read(path).map_err(|source| SpecError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let spec: ChainSpec = serde_json::from_slice(&text).map_err(|source| SpecError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("chain spec serializes")
    }

    pub fn validate(&self) -> Result<(), SpecError> {
        let invalid = |rule: InvalidSpec| Err(SpecError::Invalid(rule));
        if self.chain_id.is_empty() || self.chain_id.len() > 64 {
            return invalid(InvalidSpec::ChainIdLength);
        }
        if self.block_time_ms < 50 {
            return invalid(InvalidSpec::BlockTimeTooShort);
        }
        if self.validators.is_empty() {
            return invalid(InvalidSpec::NoValidators);
        }
        // A hotkey listed twice would count twice toward the set's power but sign once: the
        // chain would halt at height 2.
        let mut hotkeys = std::collections::BTreeSet::new();
        if let Some(v) = self.validators.iter().find(|v| !hotkeys.insert(v.hotkey)) {
            return invalid(InvalidSpec::DuplicateValidator(v.hotkey));
        }
        let mut addresses = std::collections::BTreeSet::new();
        if let Some(a) = self
            .allocations
            .iter()
            .find(|a| !addresses.insert(a.address))
        {
            return invalid(InvalidSpec::DuplicateAllocation(a.address));
        }
        if let Err(e) = self.subnets.defaults.validate() {
            return invalid(InvalidSpec::SubnetDefaults(e));
        }
        let total: u128 = self
            .allocations
            .iter()
            .map(|a| a.balance as u128)
            .chain(self.validators.iter().map(|v| v.stake as u128))
            .sum();
        if total > tensorchain_primitives::MAX_SUPPLY as u128 {
            return invalid(InvalidSpec::OverSupply);
        }
        tensorchain_ledger::runtime::subnets::genesis::validate(&self.subnets)
            .map_err(InvalidSpec::GenesisSubnets)?;
        if self.faucet.is_some() && !is_devnet_chain_id(&self.chain_id) {
            return invalid(InvalidSpec::FaucetNotOnDevnet);
        }
        if self.faucet.as_ref().is_some_and(|f| f.difficulty == 0) {
            return invalid(InvalidSpec::FaucetDifficulty);
        }
        // A handover the elected set can never meet would leave the bootstrap keys in charge
        // for good.
        if let Some(b) = &self.bootstrap {
            if b.handover_validators > self.max_validators {
                return invalid(InvalidSpec::HandoverAboveMaxValidators);
            }
            if b.handover_validators == 0 || b.handover_stake == 0 {
                return invalid(InvalidSpec::HandoverZero);
            }
        }
        Ok(())
    }

    /// The genesis hash: blake3 of the spec's canonical JSON (field order fixed by this struct).
    pub fn hash(&self) -> Hash {
        Hash::digest_parts(
            b"tensorchain/genesis/v1",
            &[&serde_json::to_vec(self).expect("chain spec serializes")],
        )
    }

    /// What everything signed on this chain is signed for: its chain id and genesis hash.
    pub fn signing_domain(&self) -> SigningDomain {
        SigningDomain::new(self.chain_id.clone(), self.hash())
    }

    pub fn genesis_state(&self) -> GenesisState {
        GenesisState {
            params: ChainParams {
                chain_id: self.chain_id.clone(),
                block_time_ms: self.block_time_ms,
                fees: self.fees.clone(),
                sudo: self.sudo,
                subnets: self.subnets.clone(),
                validators: ValidatorParams {
                    handover_stake: self.bootstrap.as_ref().map_or(0, |b| b.handover_stake),
                    handover_validators: self
                        .bootstrap
                        .as_ref()
                        .map_or(0, |b| b.handover_validators),
                    ..ValidatorParams::standard(self.max_validators, self.validator_epoch)
                },
                faucet: self.faucet.clone(),
            },
            genesis_hash: self.hash(),
            time_ms: self.genesis_time_ms,
            balances: self
                .allocations
                .iter()
                .map(|a| (a.address, a.balance))
                .collect(),
            stakes: self
                .validators
                .iter()
                .filter(|v| v.stake > 0)
                .map(|v| (v.hotkey, v.coldkey, v.stake))
                .collect(),
            validators: self
                .validators
                .iter()
                .map(|v| Validator {
                    hotkey: v.hotkey,
                    power: v.stake.max(1),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding 12 of the Byzantine-peers review: genesis accepted a validator listed twice, and
    /// the chain halted at height 2.
    #[test]
    fn finding_12_duplicate_genesis_validators_are_refused() {
        let mut spec = ChainSpec::devnet(2, 42);
        spec.validate().unwrap();
        spec.validators[1].hotkey = spec.validators[0].hotkey;
        let err = spec.validate().unwrap_err();
        assert!(
            matches!(err, SpecError::Invalid(InvalidSpec::DuplicateValidator(_))),
            "{err}"
        );
        assert!(err.to_string().contains("listed twice"), "{err}");

        let mut spec = ChainSpec::devnet(2, 42);
        spec.allocations[1].address = spec.allocations[0].address;
        let err = spec.validate().unwrap_err();
        assert!(
            matches!(err, SpecError::Invalid(InvalidSpec::DuplicateAllocation(_))),
            "{err}"
        );
        assert!(err.to_string().contains("listed twice"), "{err}");
    }

    #[test]
    fn a_funded_testnet_has_no_dev_powers_and_fits_the_supply() {
        let keys: Vec<_> = (0..32u8)
            .map(|i| {
                let k = |s: &str| Keypair::dev(&format!("t/{i}/{s}")).account();
                (k("hot"), k("cold"))
            })
            .collect();
        let spec = ChainSpec::funded_testnet(&keys, 0, 500);
        spec.validate().unwrap();
        assert!(!is_devnet_chain_id(&spec.chain_id));
        assert!(spec.sudo.is_none() && spec.faucet.is_none());
        assert_eq!(spec.validators.len(), 32);
        assert_eq!(spec.allocations[5].address, keys[5].1);
        assert_eq!(spec.validators[5].coldkey, keys[5].1);
    }

    #[test]
    fn json_round_trip_keeps_the_hash() {
        let spec = ChainSpec::devnet(1, 42);
        let back: ChainSpec = serde_json::from_str(&spec.to_json()).unwrap();
        assert_eq!(back, spec);
        assert_eq!(back.hash(), spec.hash());
        assert_ne!(ChainSpec::devnet(1, 43).hash(), spec.hash());
    }

    #[test]
    fn devnet_funds_dev_accounts_and_mainnet_nothing() {
        let dev = ChainSpec::devnet(4, 0).genesis_state();
        assert_eq!(dev.balances.len(), 6);
        assert_eq!(dev.validators.len(), 4);
        assert_eq!(dev.stakes.len(), 4);
        let main = ChainSpec::mainnet(&[dev_hotkey("alice").account()], 0);
        main.validate().unwrap();
        let main = main.genesis_state();
        assert!(main.balances.is_empty());
        assert!(main.stakes.is_empty());
        assert_eq!(main.validators[0].power, 1);
    }

    #[test]
    fn a_handover_that_can_never_happen_is_refused() {
        let mut spec = ChainSpec::mainnet(&[dev_hotkey("alice").account()], 0);
        spec.validate().unwrap();
        let b = spec.bootstrap.as_mut().expect("mainnet hands over");
        b.handover_validators = spec.max_validators + 1;
        let e = spec.validate().unwrap_err().to_string();
        assert!(e.contains("handover_validators"), "{e}");
    }

    #[test]
    fn no_premine_specs_declare_an_ownerless_pow_subnet_and_a_handover() {
        let hk = [dev_hotkey("alice").account()];
        let spec = ChainSpec::no_premine_testnet(&hk, 0, 500, (2, RAO_PER_TAO));
        spec.validate().unwrap();
        let back: ChainSpec = serde_json::from_str(&spec.to_json()).unwrap();
        assert_eq!(back.hash(), spec.hash());
        let g = spec.genesis_state();
        assert!(g.balances.is_empty() && g.stakes.is_empty());
        assert_eq!(
            g.params.subnets.genesis_subnets[0].registration,
            RegistrationMode::Pow
        );
        assert_eq!(g.params.validators.handover_validators, 2);
        assert!(
            ChainSpec::mainnet(&hk, 0)
                .genesis_state()
                .params
                .subnets
                .genesis_subnets
                .len()
                == 1
        );
    }

    #[test]
    fn faucet_only_on_devnets_and_genesis_subnets_checked() {
        let mut spec = ChainSpec::mainnet(&[dev_hotkey("alice").account()], 0);
        spec.faucet = ChainSpec::devnet(1, 0).faucet;
        assert!(spec.validate().is_err());
        let mut spec = ChainSpec::mainnet(&[dev_hotkey("alice").account()], 0);
        spec.subnets.genesis_subnets[0].pow = None;
        assert!(spec.validate().is_err(), "pow mode without pow rules");
        let mut spec = ChainSpec::mainnet(&[dev_hotkey("alice").account()], 0);
        let dup = spec.subnets.genesis_subnets[0].clone();
        spec.subnets.genesis_subnets.push(dup);
        assert!(spec.validate().is_err(), "netuid twice");
    }

    #[test]
    fn rejects_unknown_fields_and_oversupply() {
        let mut v: serde_json::Value =
            serde_json::from_str(&ChainSpec::devnet(1, 0).to_json()).unwrap();
        v["surprise"] = 1.into();
        assert!(serde_json::from_value::<ChainSpec>(v).is_err());
        let mut spec = ChainSpec::devnet(1, 0);
        spec.allocations[0].balance = u64::MAX;
        assert!(spec.validate().is_err());
        let mut spec = ChainSpec::devnet(1, 0);
        spec.subnets.defaults.activity_cutoff = spec.subnets.defaults.tempo - 1;
        let e = spec.validate().unwrap_err().to_string();
        assert!(e.contains("subnets.defaults: tempo"), "{e}");
    }
}

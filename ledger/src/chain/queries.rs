//! The state queries the REST API serves (stakes, hotkeys, subnets, neurons, root, pages), with
//! typed results.

use super::*;
use crate::runtime::staking;
use crate::runtime::subnets::root::{self, RootShares};
use crate::runtime::subnets::Row;

/// A hotkey offered as a validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateEntry {
    pub hotkey: AccountId,
    pub registered_at: u64,
    /// Its total stake now.
    pub stake: u64,
}

/// The root network: its members and the subnet shares it last computed.
#[derive(Debug, Clone)]
pub struct RootNetwork {
    pub members: Vec<RootMember>,
    /// None until the first root epoch ran.
    pub shares: Option<RootShares>,
}

#[derive(Debug, Clone)]
pub struct RootMember {
    pub hotkey: AccountId,
    pub stake: u64,
    /// Its weights on subnets: (netuid, weight).
    pub weights: Row,
}

impl Ledger {
    fn scan_amounts(&self, prefix: Vec<u8>) -> Result<Vec<(AccountId, u64)>, StoreError> {
        self.store
            .scan_prefix(Column::State, &prefix)?
            .into_iter()
            .map(|(k, v)| {
                let id: [u8; 32] = k[k.len() - 32..].try_into().expect("32-byte key suffix");
                Ok((AccountId(id), decode(&v, "stake")?))
            })
            .collect()
    }

    /// A coldkey's stakes: (hotkey, rao).
    pub fn stakes_of(&self, coldkey: &AccountId) -> Result<Vec<(AccountId, u64)>, StoreError> {
        let mut prefix = vec![schema::COLDKEY_STAKE];
        prefix.extend_from_slice(&coldkey.0);
        self.scan_amounts(prefix)
    }

    /// Who stakes behind a hotkey: (coldkey, rao).
    pub fn nominators_of(&self, hotkey: &AccountId) -> Result<Vec<(AccountId, u64)>, StoreError> {
        let mut prefix = vec![schema::STAKE];
        prefix.extend_from_slice(&hotkey.0);
        self.scan_amounts(prefix)
    }

    /// Every hotkey with an owner, with its record.
    pub fn hotkeys(&self) -> Result<Vec<(AccountId, state::HotkeyInfo)>, StoreError> {
        self.store
            .scan_prefix(Column::State, &[schema::HOTKEY])?
            .into_iter()
            .map(|(k, v)| {
                let id: [u8; 32] = k[1..]
                    .try_into()
                    .map_err(|_| StoreError("corrupt hotkey key".into()))?;
                Ok((AccountId(id), decode(&v, "hotkey")?))
            })
            .collect()
    }

    /// (netuid, uid) of every subnet the hotkey is registered on.
    pub fn registrations(&self, hotkey: &AccountId) -> Result<Vec<(u16, u16)>, StoreError> {
        let view = self.view();
        let mut out = Vec::new();
        for s in self.subnets()? {
            if let Some(uid) =
                view.get::<u16>(&crate::runtime::subnets::uid_key(s.netuid, hotkey))?
            {
                out.push((s.netuid, uid));
            }
        }
        Ok(out)
    }

    pub fn hotkey(&self, hotkey: &AccountId) -> Result<Option<state::HotkeyInfo>, StoreError> {
        self.view().get(&schema::hotkey_key(hotkey))
    }

    /// A coldkey's stake that is unbonding, with its release blocks.
    pub fn unbonding_of(
        &self,
        coldkey: &AccountId,
    ) -> Result<Vec<crate::runtime::unbonding::Entry>, StoreError> {
        crate::runtime::unbonding::of_coldkey(&self.view(), coldkey).map_err(tx_storage)
    }

    /// Each live subnet's share of the block reward, exactly as the emission split uses it
    /// (I32F32 bits: 2^32 = the whole reward).
    pub fn emission_shares(&self) -> Result<Vec<(u16, u64)>, StoreError> {
        crate::runtime::subnets::root::emission_shares(&self.view()).map_err(tx_storage)
    }
}

/// Reads of subnet state for the API.
impl Ledger {
    pub fn subnets(&self) -> Result<Vec<crate::runtime::subnets::Subnet>, StoreError> {
        self.store
            .scan_prefix(Column::State, &crate::runtime::subnets::subnets_prefix())?
            .into_iter()
            .map(|(_, v)| decode(&v, "subnet"))
            .collect()
    }

    pub fn subnet(
        &self,
        netuid: u16,
    ) -> Result<Option<crate::runtime::subnets::Subnet>, StoreError> {
        self.view()
            .get(&crate::runtime::subnets::subnet_key(netuid))
    }

    /// All neurons of a subnet with their weight and bond rows, by uid.
    pub fn neurons(
        &self,
        netuid: u16,
    ) -> Result<
        Vec<(
            crate::runtime::subnets::Neuron,
            crate::runtime::subnets::Row,
            crate::runtime::subnets::Row,
        )>,
        StoreError,
    > {
        let Some(s) = self.subnet(netuid)? else {
            return Ok(vec![]);
        };
        let view = self.view();
        let mut out = Vec::with_capacity(s.n as usize);
        for uid in 0..s.n {
            let n = view
                .get(&crate::runtime::subnets::neuron_key(netuid, uid))?
                .ok_or_else(|| StoreError(format!("subnet {netuid} lacks uid {uid}")))?;
            let w = view
                .get(&crate::runtime::subnets::weights_key(netuid, uid))?
                .unwrap_or_default();
            let b = view
                .get(&crate::runtime::subnets::bonds_key(netuid, uid))?
                .unwrap_or_default();
            out.push((n, w, b));
        }
        Ok(out)
    }

    /// Past epochs of a subnet, newest first.
    pub fn epochs(
        &self,
        netuid: u16,
        limit: usize,
    ) -> Result<Vec<crate::runtime::subnets::EpochSummary>, StoreError> {
        let mut all: Vec<crate::runtime::subnets::EpochSummary> = self
            .store
            .scan_prefix(
                Column::State,
                &crate::runtime::subnets::epochs_prefix(netuid),
            )?
            .into_iter()
            .map(|(_, v)| decode(&v, "epoch summary"))
            .collect::<Result<_, _>>()?;
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }

    pub fn epoch_at(
        &self,
        netuid: u16,
        block: u64,
    ) -> Result<Option<crate::runtime::subnets::EpochSummary>, StoreError> {
        self.view()
            .get(&crate::runtime::subnets::epoch_key(netuid, block))
    }

    /// The price of creating a subnet at the next block.
    pub fn subnet_lock_cost(&self) -> Result<u64, StoreError> {
        let reg = self
            .view()
            .get(&crate::runtime::subnets::registry_key())?
            .unwrap_or_default();
        Ok(crate::runtime::subnets::calls::lock_cost(
            &reg,
            &self.params.subnets,
            self.next_height(),
        ))
    }
}

/// Reads of the root network for the API.
impl Ledger {
    /// Root members with their stake and subnet weights, and the last computed shares.
    pub fn root(&self) -> Result<RootNetwork, StoreError> {
        let view = self.view();
        let mut members = Vec::new();
        for hotkey in root::members(&view).map_err(tx_storage)? {
            let stake = staking::hotkey(&view, &hotkey)
                .map_err(tx_storage)?
                .map_or(0, |h| h.total_stake);
            let weights = root::weights(&view, &hotkey).map_err(tx_storage)?;
            members.push(RootMember {
                hotkey,
                stake,
                weights,
            });
        }
        Ok(RootNetwork {
            members,
            shares: root::shares(&view).map_err(tx_storage)?,
        })
    }
}

/// Paged reads for the API: each reads at most `limit` entries from the store whatever the total,
/// resuming strictly after the cursor (the last item of the previous page).
impl Ledger {
    fn page(
        &self,
        prefix: &[u8],
        after: Option<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> Result<crate::storage::Entries, StoreError> {
        self.store
            .scan_page(Column::State, prefix, after.as_deref(), reverse, limit)
    }

    /// Hotkeys with an owner, in key order.
    pub fn hotkeys_page(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<(AccountId, state::HotkeyInfo)>, StoreError> {
        let after = after.map(schema::hotkey_key);
        self.page(&[schema::HOTKEY], after, false, limit)?
            .into_iter()
            .map(|(k, v)| Ok((account_suffix(&k)?, decode(&v, "hotkey")?)))
            .collect()
    }

    /// Who stakes behind a hotkey, (coldkey, rao), in coldkey order.
    pub fn nominators_page(
        &self,
        hotkey: &AccountId,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<(AccountId, u64)>, StoreError> {
        let mut prefix = vec![schema::STAKE];
        prefix.extend_from_slice(&hotkey.0);
        let after = after.map(|a| [prefix.as_slice(), &a.0].concat());
        self.page(&prefix, after, false, limit)?
            .into_iter()
            .map(|(k, v)| Ok((account_suffix(&k)?, decode(&v, "stake")?)))
            .collect()
    }

    /// Subnets by netuid, from the first netuid above `after`.
    pub fn subnets_page(
        &self,
        after: Option<u16>,
        limit: usize,
    ) -> Result<Vec<crate::runtime::subnets::Subnet>, StoreError> {
        let after = after.map(crate::runtime::subnets::subnet_key);
        self.page(
            &crate::runtime::subnets::subnets_prefix(),
            after,
            false,
            limit,
        )?
        .into_iter()
        .map(|(_, v)| decode(&v, "subnet"))
        .collect()
    }

    /// A subnet's past epochs, newest first, from the newest before block `before`.
    pub fn epochs_page(
        &self,
        netuid: u16,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<crate::runtime::subnets::EpochSummary>, StoreError> {
        let after = before.map(|b| crate::runtime::subnets::epoch_key(netuid, b));
        self.page(
            &crate::runtime::subnets::epochs_prefix(netuid),
            after,
            true,
            limit,
        )?
        .into_iter()
        .map(|(_, v)| decode(&v, "epoch summary"))
        .collect()
    }

    /// Validator candidates, (hotkey, registered at, total stake), in hotkey order.
    pub fn validator_candidates_page(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<CandidateEntry>, StoreError> {
        let prefix = [schema::VALIDATOR_CANDIDATE];
        let after = after.map(|a| [prefix.as_slice(), &a.0].concat());
        let mut out = Vec::new();
        for (k, v) in self.page(&prefix, after, false, limit)? {
            let hotkey = account_suffix(&k)?;
            let c: validators::Candidate = decode(&v, "validator candidate")?;
            let stake = self.hotkey(&hotkey)?.map_or(0, |h| h.total_stake);
            out.push(CandidateEntry {
                hotkey,
                registered_at: c.registered_at,
                stake,
            });
        }
        Ok(out)
    }
}

/// The account id a state key ends with.
fn account_suffix(key: &[u8]) -> Result<AccountId, StoreError> {
    key.len()
        .checked_sub(32)
        .and_then(|start| key[start..].try_into().ok())
        .map(AccountId)
        .ok_or_else(|| StoreError("state key too short for an account id".into()))
}

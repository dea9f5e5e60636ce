//! The block reward halves by issuance, not by height (yuma.md §2), through real blocks: the
//! reward a block mints is read from the issuance it starts with, so the block that starts
//! exactly at an era's threshold mints half of what the block before it did.

mod common;
use common::*;
use tensorchain_ledger::reward::{halving_threshold, BASE_REWARD};
use tensorchain_ledger::runtime::params::{GenesisSubnet, RegistrationMode};

/// A chain whose genesis issuance is `issuance`, minting into one genesis subnet (emission on
/// from block 1) whose epoch does not come during the test: nothing is recycled, so each
/// block's growth of issuance is exactly its reward.
fn chain_at(issuance: u64) -> Chain {
    let mut subnets = SubnetParams::devnet();
    let mut hyper = subnets.defaults.clone();
    hyper.tempo = 1000;
    subnets.genesis_subnets = vec![GenesisSubnet {
        netuid: 1,
        name: "mint".into(),
        registration: RegistrationMode::Burn,
        pow: None,
        hyperparameters: Some(hyper),
    }];
    let mut g = genesis(subnets);
    let funded: u64 = g.balances.iter().map(|b| b.1).sum();
    g.balances.push((key("whale").account(), issuance - funded));
    let c = open_genesis(g);
    assert_eq!(c.ledger.globals().unwrap().total_issuance, issuance);
    c
}

fn issuance(c: &Chain) -> u64 {
    c.ledger.globals().unwrap().total_issuance
}

/// One block through `on_block`: the rao it minted, all of it into the subnet's pending emission.
fn mint(c: &Chain) -> u64 {
    let (issued, pending) = (issuance(c), c.subnet(1).pending);
    c.block(vec![]);
    let minted = issuance(c) - issued;
    assert_eq!(
        c.subnet(1).pending - pending,
        minted,
        "the reward is pending"
    );
    minted
}

#[test]
fn the_block_that_starts_at_the_threshold_mints_half() {
    // Era 30 is the last: its threshold's block mints nothing.
    for era in [1u32, 2, 30] {
        let (full, half) = (BASE_REWARD >> (era - 1), BASE_REWARD >> era);
        let threshold = halving_threshold(era);
        let c = chain_at(threshold - 2 * full);
        assert_eq!(mint(&c), full, "era {era}: two blocks before");
        assert_eq!(mint(&c), full, "era {era}: the block before");
        assert_eq!(
            issuance(&c),
            threshold,
            "era {era}: exactly at the threshold"
        );
        assert_eq!(mint(&c), half, "era {era}: the block at the threshold");
        assert_eq!(mint(&c), half, "era {era}: the block after");
        assert_eq!(issuance(&c), threshold + 2 * half);
    }
}

#[test]
fn one_rao_short_of_the_threshold_mints_the_whole_reward() {
    let threshold = halving_threshold(1);
    let c = chain_at(threshold - BASE_REWARD - 1);
    assert_eq!(mint(&c), BASE_REWARD);
    assert_eq!(issuance(&c), threshold - 1);
    assert_eq!(
        mint(&c),
        BASE_REWARD,
        "one rao below: still the first era, and the block overshoots the threshold"
    );
    assert_eq!(issuance(&c), threshold + BASE_REWARD - 1);
    assert_eq!(mint(&c), BASE_REWARD / 2);
}

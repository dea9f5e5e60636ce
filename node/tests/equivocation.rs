//! A Byzantine validator over real libp2p on 127.0.0.1: three honest validator nodes run the
//! chain; dave's key, held by an attacker peer, gossips two conflicting prevotes. The honest nodes
//! turn that into a `report_equivocation` transaction, and the chain slashes and jails dave and
//! drops him from the validator set.

use std::time::{Duration, Instant};
use tensorchain_consensus::SignedVote;
use tensorchain_genesis::{dev_hotkey, ChainSpec};
use tensorchain_node::{NodeConfig, RunningNode};
use tensorchain_primitives::{Hash, Vote, VoteKind};
use tensorchain_rpc::NodeApi;

mod common;
use common::loopback;

/// The consensus topic's `Vote` variant, as the node encodes it (tag 1, then the signed vote).
fn vote_wire(v: &SignedVote) -> Vec<u8> {
    let mut bytes = vec![1u8];
    bytes.extend(borsh::to_vec(v).unwrap());
    bytes
}

async fn validator(
    dir: &std::path::Path,
    spec: &ChainSpec,
    name: &str,
    bootnodes: Vec<tensorchain_node::Multiaddr>,
) -> RunningNode {
    tensorchain_node::start(NodeConfig {
        bootnodes,
        validator_key: Some(dev_hotkey(name)),
        ..loopback::config(&dir.join(name), spec)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_signing_validator_is_slashed_jailed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ChainSpec::devnet(4, loopback::now_ms());
    spec.block_time_ms = 500;
    let alice = validator(dir.path(), &spec, "alice", vec![]).await;
    let boot = alice.p2p_addrs.clone();
    let bob = validator(dir.path(), &spec, "bob", boot.clone()).await;
    let charlie = validator(dir.path(), &spec, "charlie", boot.clone()).await;

    let attacker = loopback::attacker(&spec, boot).await;

    let dave = dev_hotkey("dave");
    let ledger = alice.node.ledger();
    let stake_before = ledger.hotkey(&dave.account()).unwrap().unwrap().total_stake;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut round = 0u32;
    loop {
        let jailed = ledger.jails().unwrap();
        if jailed.iter().any(|j| j.hotkey == dave.account()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the equivocation was not punished within 60 s"
        );
        // Two prevotes for different blocks at the height being decided now.
        let height = ledger.head().height + 1;
        for block in [b"one".as_slice(), b"two".as_slice()] {
            let vote = Vote {
                chain_id: spec.chain_id.clone(),
                height,
                round,
                kind: VoteKind::Prevote,
                block_hash: Some(Hash::digest(block)),
            };
            attacker.net.publish_consensus(vote_wire(&SignedVote::sign(
                vote,
                &dave,
                ledger.signing_domain(),
            )));
        }
        round = (round + 1) % 2;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    let stake_after = ledger.hotkey(&dave.account()).unwrap().unwrap().total_stake;
    // 5% per equivocated height (`report_equivocation` punishes each height once): the attacker
    // double-votes at every new height until it sees the jail, so evidence for the next height
    // may already be in a block by then (more often since transactions gossip in batches).
    let mut expected = stake_before - stake_before / 20;
    if stake_after < expected {
        expected -= expected / 20;
    }
    assert_eq!(stake_after, expected, "5% slashed per equivocated height");
    let punished_at = ledger.head().height;
    let out_by = punished_at + 2;
    let deadline = Instant::now() + Duration::from_secs(30);
    while ledger.head().height < out_by + 1 {
        assert!(
            Instant::now() < deadline,
            "the chain stopped after the punishment"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let set = ledger.validators_at(out_by).unwrap().unwrap();
    assert_eq!(set.len(), 3);
    assert!(!set.iter().any(|v| v.hotkey == dave.account()));
    // Every honest node agrees.
    for n in [&bob, &charlie] {
        let h = punished_at;
        assert_eq!(
            n.node.ledger().header(h).unwrap().map(|x| x.hash()),
            ledger.header(h).unwrap().map(|x| x.hash())
        );
    }
    for n in [alice, bob, charlie] {
        n.shutdown().await;
    }
}

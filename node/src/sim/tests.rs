//! The simulator's scenarios. `SIM_SEED=<seed>` reruns one; `SIM_SEEDS=<count>` soaks.

use super::*;

fn run_all(what: &str, scenarios: impl Iterator<Item = Scenario>) -> Vec<Stats> {
    let started = std::time::Instant::now();
    let mut all = Vec::new();
    for sc in scenarios {
        match Sim::new(sc).run() {
            Ok(stats) => all.push(stats),
            Err(e) => panic!("{what}: {e}"),
        }
    }
    let heights: u64 = all.iter().map(|s| s.heights).sum();
    if all.len() <= 4 {
        eprintln!("{what}: {all:?}");
    }
    let sum = |f: fn(&Stats) -> u64| all.iter().map(f).sum::<u64>();
    eprintln!(
        "{what}: {} scenarios, {heights} heights, {} ranges synced, {} restarts, {} bans ({} of honest peers), {} attack messages, {:.1} s",
        all.len(),
        sum(|s| s.ranges),
        sum(|s| s.restarts),
        sum(|s| s.bans),
        sum(|s| s.honest_bans),
        sum(|s| s.attack_messages),
        started.elapsed().as_secs_f64()
    );
    all
}

#[test]
fn sim_honest_networks_agree_and_stay_live() {
    run_all("honest", seeds(0, 96).into_iter().map(Scenario::honest));
}

#[test]
fn sim_hostile_networks_agree_and_stay_live() {
    run_all(
        "hostile",
        seeds(1 << 32, 80).into_iter().map(Scenario::hostile),
    );
}

/// Finding 1 against running nodes: altered copies of every honest proposal, sent faster than
/// the honest one, are all rejected and the chain goes on.
#[test]
fn sim_finding_1_altered_proposals_are_rejected_by_every_node() {
    let stats = run_all(
        "finding 1",
        seeds(100, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::AlteredProposal, 4, 0)),
    );
    assert!(stats.iter().all(|s| s.rejected_attacks > 10), "{stats:?}");
}

/// Finding 2: votes and proposals signed by strangers are rejected, never logged.
#[test]
fn sim_finding_2_junk_votes_are_rejected_by_every_node() {
    let stats = run_all(
        "finding 2",
        seeds(200, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::JunkVotes, 5, 0)),
    );
    assert!(stats.iter().all(|s| s.rejected_attacks > 10), "{stats:?}");
}

/// Findings 2/3/9: a Byzantine validator's messages for far heights and rounds (`u64::MAX`,
/// `u32::MAX`) neither crash nor fill any node, and the chain goes on.
#[test]
fn sim_finding_3_far_heights_and_rounds_are_bounded() {
    run_all(
        "finding 3",
        seeds(300, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::FutureFlood, 4 + (s % 2) as usize, 1)),
    );
}

/// Finding 5: undecodable megabytes, oversize transactions, and an oversize block proposed by a
/// Byzantine validator are refused; the round it proposes fails and the next decides.
#[test]
fn sim_finding_5_oversized_messages_are_refused() {
    let stats = run_all(
        "finding 5",
        seeds(500, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::Oversized, 4, 1)),
    );
    assert!(stats.iter().all(|s| s.rejected_attacks > 0), "{stats:?}");
    assert!(stats.iter().all(|s| s.oversized_blocks > 0), "{stats:?}");
}

/// Finding 7: a sync peer claiming a huge tip and serving garbage is banned by every node it
/// serves, and nodes still sync from honest peers.
#[test]
fn sim_finding_7_a_lying_sync_peer_is_banned() {
    let stats = run_all(
        "finding 7",
        seeds(700, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::LyingSync, 4, 0)),
    );
    assert!(stats.iter().all(|s| s.bans >= 3), "{stats:?}");
}

/// Findings 2/3: a Byzantine proposer signing several blocks for each of its rounds, up to far
/// rounds, makes no node execute or keep more than one block per round within reach.
#[test]
fn sim_a_flooding_proposer_is_bounded() {
    run_all(
        "proposal flood",
        seeds(900, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::ProposalFlood, 4 + (s % 2) as usize, 1)),
    );
}

/// Equivocation: a Byzantine validator's double votes are reported by honest nodes, a block
/// carries the evidence, the validator is jailed, and the chain goes on without it (its set
/// changes two heights later: the machine's member sets follow).
#[test]
fn sim_a_double_voting_validator_is_jailed() {
    let stats = run_all(
        "double vote",
        seeds(1000, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::DoubleVote, 4 + (s % 2) as usize, 1)),
    );
    assert!(stats.iter().all(|s| s.jailed == 1), "{stats:?}");
}

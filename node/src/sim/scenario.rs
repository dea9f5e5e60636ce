//! Scenarios: the network, the faults and the attacks of one simulated run, all from a seed.

use super::*;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    /// Validators (4–7); the first `byzantine` of them are the adversary's.
    pub n: usize,
    pub byzantine: usize,
    pub drop_percent: u64,
    pub dup_percent: u64,
    /// Side of each validator while partitioned, and when the partition heals (ms after start).
    pub partition: Option<(Vec<bool>, u64)>,
    /// Attacks and the window (ms after start) each runs in.
    pub attacks: Vec<(Attack, u64, u64)>,
    /// Honest validators that crash (losing what their WAL had not synced) and restart over
    /// their stored chain: (validator, at ms, down for ms).
    pub crashes: Vec<(usize, u64, u64)>,
    /// Client transactions per second, sent to honest nodes.
    pub tx_per_s: u64,
    /// The chain's block time; `None`: the devnet's.
    pub block_time_ms: Option<u64>,
}

impl Scenario {
    /// An honest network: `n` validators, a lossy network, no attack.
    pub fn honest(seed: u64) -> Scenario {
        let mut rng = SplitMix(seed);
        let n = 4 + rng.below(4) as usize;
        let partition = rng.chance(30).then(|| {
            (
                (0..n).map(|_| rng.chance(50)).collect(),
                2_000 + rng.below(8_000),
            )
        });
        let crashes = if rng.chance(30) {
            vec![(
                rng.below(n as u64) as usize,
                500 + rng.below(6_000),
                300 + rng.below(8_000),
            )]
        } else {
            vec![]
        };
        Scenario {
            seed,
            n,
            byzantine: 0,
            drop_percent: rng.below(6),
            dup_percent: rng.below(4),
            partition,
            attacks: vec![],
            crashes,
            tx_per_s: rng.below(6),
            block_time_ms: None,
        }
    }

    /// A hostile network: as `honest`, with up to f Byzantine validators and 1–3 attacks, each
    /// running for a few seconds.
    pub fn hostile(seed: u64) -> Scenario {
        let mut sc = Scenario::honest(seed);
        let mut rng = SplitMix(seed ^ 0xbad);
        sc.byzantine = rng.below((sc.n as u64 - 1) / 3 + 1) as usize;
        // Only honest validators crash.
        for c in &mut sc.crashes {
            c.0 = c.0.max(sc.byzantine);
        }
        for _ in 0..1 + rng.below(3) {
            let attack = Attack::ALL[rng.below(Attack::ALL.len() as u64) as usize];
            let from = rng.below(3_000);
            sc.attacks
                .push((attack, from, from + 1_000 + rng.below(6_000)));
        }
        sc
    }

    /// One attack for six seconds against a network of `n` with `byzantine` of them the
    /// adversary's, on a clean network.
    pub fn only(seed: u64, attack: Attack, n: usize, byzantine: usize) -> Scenario {
        Scenario {
            seed,
            n,
            byzantine,
            drop_percent: 0,
            dup_percent: 0,
            partition: None,
            attacks: vec![(attack, 500, 6_500)],
            crashes: vec![],
            tx_per_s: 2,
            block_time_ms: None,
        }
    }

    /// Four honest validators on a clean network with `block_time_ms` blocks, no attack.
    pub fn block_time(seed: u64, block_time_ms: u64) -> Scenario {
        Scenario {
            attacks: vec![],
            block_time_ms: Some(block_time_ms),
            ..Scenario::only(seed, Attack::AlteredProposal, 4, 0)
        }
    }

    /// When the last fault stops: attacks over, the partition healed, crashed nodes back.
    pub(super) fn calm_at(&self) -> u64 {
        let p = self.partition.as_ref().map_or(0, |p| p.1);
        let a = self.attacks.iter().map(|a| a.2).max().unwrap_or(0);
        let c = self.crashes.iter().map(|c| c.1 + c.2).max().unwrap_or(0);
        p.max(a).max(c).max(3_000)
    }
}

/// Seeds to run: `SIM_SEED` alone, or `count` (`SIM_SEEDS` for a long soak) from `first`.
pub fn seeds(first: u64, count: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        return vec![seed];
    }
    let count = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(count);
    (first..first + count).collect()
}

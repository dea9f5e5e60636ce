//! A step's figures: what was offered and finalized in the measured window, latency from the
//! intended send time to the finalization event, refusals by code, transactions lost, and the
//! consensus rounds beyond the first that the step's blocks took. `--json` prints `Report`
//! (exactly its keys); the text adds `Context`.

use crate::output::table;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Report {
    pub offered_tps: f64,
    pub finalized_tps: f64,
    /// Milliseconds from each measured transaction's intended send time to its block's
    /// finalization event.
    pub latency_ms: Latency,
    /// Refusals by code (every transaction of the step, the warm-up's too).
    pub rejected: BTreeMap<String, u64>,
    /// Accepted but not finalized within the drain time (must be 0).
    pub lost: u64,
    /// Σ over the step's blocks of the round they were committed in.
    pub rounds_above_zero: u64,
}

/// What the text report adds.
pub struct Context {
    pub rate: u64,
    pub sent: u64,
    pub accepted: u64,
    pub finalized: u64,
    pub measured: u64,
    pub blocks: u64,
    pub duration: Duration,
    pub warmup: Duration,
    /// The node's mempool size, sampled about once a second (empty if the node does not say).
    pub mempool: Vec<u64>,
    /// The height and round the node's consensus was on when the step ended.
    pub consensus: Option<(u64, u64)>,
}

/// Nearest-rank percentiles of `samples` (any order), in milliseconds.
pub fn latency(mut samples: Vec<Duration>) -> Latency {
    if samples.is_empty() {
        return Latency::default();
    }
    samples.sort_unstable();
    let ms = |d: Duration| d.as_millis() as u64;
    let rank = |p: usize| ms(samples[(samples.len() * p).div_ceil(100).max(1) - 1]);
    Latency {
        p50: rank(50),
        p90: rank(90),
        p99: rank(99),
        max: ms(samples[samples.len() - 1]),
    }
}

/// Our transactions finalized per second in `window`, from the blocks whose events arrived in
/// it (`(arrival, ours)` in arrival order): counted from the first such block's event to the
/// last's, so a window that happens to hold one block more or less than its length in block
/// times does not skew the rate. With fewer than two blocks, what they hold over the window.
pub fn finalized_rate(blocks: &[(Duration, u64)], window: (Duration, Duration)) -> f64 {
    let inside: Vec<&(Duration, u64)> = blocks
        .iter()
        .filter(|(at, _)| *at >= window.0 && *at < window.1)
        .collect();
    match (inside.first(), inside.last()) {
        (Some(first), Some(last)) if last.0 > first.0 => {
            per_second(inside[1..].iter().map(|b| b.1).sum(), last.0 - first.0)
        }
        _ => per_second(inside.iter().map(|b| b.1).sum(), window.1 - window.0),
    }
}

/// Rounded to one decimal: more digits than that are noise.
pub fn per_second(count: u64, over: Duration) -> f64 {
    (count as f64 / over.as_secs_f64().max(1e-9) * 10.0).round() / 10.0
}

/// `3 bad_nonce, 1 overloaded`, or `0`.
pub fn rejected_text(r: &BTreeMap<String, u64>) -> String {
    if r.is_empty() {
        return "0".into();
    }
    r.iter()
        .map(|(code, n)| format!("{n} {code}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mempool_text(samples: &[u64]) -> String {
    match (samples.first(), samples.last(), samples.iter().max()) {
        (Some(first), Some(last), Some(peak)) => format!("{first} → peak {peak} → {last}"),
        _ => "not reported by the node".into(),
    }
}

pub fn text(r: &Report, c: &Context) -> String {
    // A chain stuck in later rounds finalizes nothing, so its rounds show in no block: say so.
    let stuck = match c.consensus {
        Some((height, round)) if round > 0 => {
            format!("\nwhen the step ended, consensus was at height {height}, round {round}")
        }
        _ => String::new(),
    };
    format!(
        "offered {} tx/s ({} asked), finalized {} tx/s over {} s after a {} s warm-up\n\
         latency, intended send → finalized event: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms ({} measured)\n\
         sent {}: {} accepted, {} finalized; rejected {}; lost {}\n\
         {} blocks, {} rounds above 0; mempool {}{}",
        r.offered_tps,
        c.rate,
        r.finalized_tps,
        c.duration.as_secs(),
        c.warmup.as_secs(),
        r.latency_ms.p50,
        r.latency_ms.p90,
        r.latency_ms.p99,
        r.latency_ms.max,
        c.measured,
        c.sent,
        c.accepted,
        c.finalized,
        rejected_text(&r.rejected),
        r.lost,
        c.blocks,
        r.rounds_above_zero,
        mempool_text(&c.mempool),
        stuck,
    )
}

pub fn sweep_table(steps: &[(Report, Context)]) -> String {
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|(r, c)| {
            vec![
                c.rate.to_string(),
                r.offered_tps.to_string(),
                r.finalized_tps.to_string(),
                r.latency_ms.p50.to_string(),
                r.latency_ms.p90.to_string(),
                r.latency_ms.p99.to_string(),
                r.latency_ms.max.to_string(),
                r.rejected.values().sum::<u64>().to_string(),
                r.lost.to_string(),
                r.rounds_above_zero.to_string(),
                c.mempool.iter().max().map_or("-".into(), u64::to_string),
            ]
        })
        .collect();
    table(
        &[
            "RATE",
            "OFFERED",
            "FINALIZED",
            "P50_MS",
            "P90_MS",
            "P99_MS",
            "MAX_MS",
            "REJECTED",
            "LOST",
            "ROUNDS>0",
            "MEMPOOL_PEAK",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms = |v: &[u64]| v.iter().map(|m| Duration::from_millis(*m)).collect();
        let l = latency(ms(&(1..=100).rev().collect::<Vec<_>>()));
        assert_eq!(
            l,
            Latency {
                p50: 50,
                p90: 90,
                p99: 99,
                max: 100
            }
        );
        assert_eq!(
            latency(ms(&[7])),
            Latency {
                p50: 7,
                p90: 7,
                p99: 7,
                max: 7
            }
        );
        assert_eq!(latency(vec![]), Latency::default());
        assert_eq!(per_second(2001, Duration::from_secs(2)), 1000.5);
    }

    #[test]
    fn finalized_rate_runs_from_block_to_block() {
        let s = Duration::from_secs;
        let window = (s(2), s(12));
        // Blocks every second from t = 1.5 s, 100 of ours each: 10 fall in the window.
        let blocks: Vec<(Duration, u64)> = (0..14)
            .map(|i| (Duration::from_millis(1500 + 1000 * i), 100))
            .collect();
        assert_eq!(finalized_rate(&blocks, window), 100.0);
        // One block in the window: its count over the window's length.
        assert_eq!(finalized_rate(&[(s(5), 50)], window), 5.0);
        assert_eq!(finalized_rate(&[], window), 0.0);
    }

    #[test]
    fn json_has_exactly_the_promised_keys() {
        let r = Report {
            offered_tps: 1.0,
            finalized_tps: 1.0,
            latency_ms: Latency::default(),
            rejected: BTreeMap::new(),
            lost: 0,
            rounds_above_zero: 0,
        };
        let v = serde_json::to_value(&r).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "finalized_tps",
                "latency_ms",
                "lost",
                "offered_tps",
                "rejected",
                "rounds_above_zero"
            ]
        );
        let lat: Vec<&String> = v["latency_ms"].as_object().unwrap().keys().collect();
        assert_eq!(lat, ["max", "p50", "p90", "p99"]);
    }
}

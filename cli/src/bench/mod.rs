//! `tensorchain bench`: an open-loop load generator in its own process, and `bench verify`, the
//! machine's signature-verification limit its figures are measured against.
//!
//! A run funds `--senders` throwaway accounts from the `--uri` (or wallet) key, signs every
//! transfer of a rate step before the clock starts, sends them at a fixed offered rate in small
//! batches over several connections, and times each one from its *intended* send time to the
//! node's finalization event for its block. Only its own transactions count; the warm-up is
//! discarded; after the step it waits a bounded drain time and reports those accepted but never
//! finalized as `lost`. `--sweep` runs several rates in turn (one funding, one event stream).

mod fund;
mod plan;
mod report;
mod run;
mod send;
mod verify;
mod watch;

use crate::error::{CliError, CliResult};
use crate::Global;
use std::time::Duration;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    cmd: Option<BenchCmd>,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(clap::Subcommand)]
enum BenchCmd {
    /// The denominator: signed transfers verified per second with `verify_strict`, one at a
    /// time, on one core and on all cores (and, beside it, the chain's ZIP-215 batches).
    Verify,
}

#[derive(clap::Args)]
struct LoadArgs {
    /// Transfers per second offered (open loop: sent on schedule whatever the node does).
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Seconds sent at the rate before measuring (their figures are discarded).
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Funded sender accounts; each transaction's sender is the next in turn.
    #[arg(long, default_value_t = 2000)]
    senders: usize,
    /// Most transactions per request (1: `POST /v1/txs`; more: `POST /v1/txs/batch`, borsh).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Connections sending in parallel, one thread and one HTTP agent each.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Several rates, run in turn and reported as a table (e.g. 2000,5000,10000); replaces --rate.
    #[arg(long, conflicts_with = "rate")]
    sweep: Option<String>,
    /// Most seconds to wait after sending for accepted transactions to finalize.
    #[arg(long, default_value_t = 30)]
    drain: u64,
}

/// Most transactions one rate step may sign ahead (each held in memory, ~250 bytes).
const MAX_STEP_TXS: u64 = 5_000_000;
/// Most senders: their funding goes through the mempool at once (it holds 20,000).
const MAX_SENDERS: usize = 10_000;
/// The batch route's cap per request.
pub const MAX_BATCH: usize = 1024;
const MAX_CONNECTIONS: usize = 64;
const MAX_SWEEP_STEPS: usize = 16;

/// The validated settings of a run.
pub struct Config {
    pub rates: Vec<u64>,
    pub sweep: bool,
    pub duration: Duration,
    pub warmup: Duration,
    pub senders: usize,
    pub batch: usize,
    pub connections: usize,
    pub drain: Duration,
}

impl Config {
    /// Transactions one step at `rate` sends: warm-up and measured window.
    pub fn step_txs(&self, rate: u64) -> u64 {
        rate * (self.warmup.as_secs() + self.duration.as_secs())
    }
}

fn bad(code: &str, message: String, hint: &str) -> CliError {
    CliError::new(code, message, hint)
}

impl LoadArgs {
    fn validate(self) -> CliResult<Config> {
        let rates = match &self.sweep {
            Some(list) => parse_sweep(list)?,
            None => vec![self.rate],
        };
        if let Some(r) = rates.iter().find(|r| !(1..=1_000_000).contains(*r)) {
            return Err(bad(
                "bad_rate",
                format!("a rate of {r} transfers/s is not 1..=1000000"),
                "try --rate 1000",
            ));
        }
        if !(1..=3600).contains(&self.duration) {
            return Err(bad(
                "bad_duration",
                format!("--duration {} is not 1..=3600 seconds", self.duration),
                "try --duration 20",
            ));
        }
        if self.warmup > 600 {
            return Err(bad(
                "bad_warmup",
                format!("--warmup {} is more than 600 seconds", self.warmup),
                "a few seconds fill the pipeline: try --warmup 5",
            ));
        }
        if !(1..=MAX_SENDERS).contains(&self.senders) {
            return Err(bad(
                "bad_senders",
                format!("--senders {} is not 1..={MAX_SENDERS}", self.senders),
                "try --senders 2000",
            ));
        }
        if !(1..=MAX_BATCH).contains(&self.batch) {
            return Err(bad(
                "bad_batch",
                format!("--batch {} is not 1..={MAX_BATCH}", self.batch),
                "the batch route takes at most 1024 transactions a request: try --batch 64",
            ));
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.connections) {
            return Err(bad(
                "bad_connections",
                format!(
                    "--connections {} is not 1..={MAX_CONNECTIONS}",
                    self.connections
                ),
                "try --connections 4",
            ));
        }
        if !(1..=600).contains(&self.drain) {
            return Err(bad(
                "bad_drain",
                format!("--drain {} is not 1..=600 seconds", self.drain),
                "try --drain 30",
            ));
        }
        let config = Config {
            sweep: self.sweep.is_some(),
            duration: Duration::from_secs(self.duration),
            warmup: Duration::from_secs(self.warmup),
            senders: self.senders,
            batch: self.batch,
            connections: self.connections,
            drain: Duration::from_secs(self.drain),
            rates,
        };
        if let Some(r) = config
            .rates
            .iter()
            .find(|r| config.step_txs(**r) > MAX_STEP_TXS)
        {
            return Err(bad(
                "run_too_large",
                format!(
                    "{r}/s for {} s (warm-up included) is {} transactions, more than the {MAX_STEP_TXS} one step signs ahead",
                    self.warmup + self.duration,
                    config.step_txs(*r)
                ),
                "shorten --duration or --warmup",
            ));
        }
        Ok(config)
    }
}

/// `--sweep 2000,5000,10000`: rates in the order given.
fn parse_sweep(list: &str) -> CliResult<Vec<u64>> {
    let rates: Vec<u64> = list
        .split(',')
        .map(|r| r.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            // Echoed cut short: it is whatever was typed.
            let shown: String = list.chars().take(60).collect();
            bad(
                "bad_sweep",
                format!("--sweep '{shown}' is not a comma-separated list of rates"),
                "e.g. --sweep 2000,5000,10000,20000,30000",
            )
        })?;
    if rates.len() > MAX_SWEEP_STEPS {
        return Err(bad(
            "bad_sweep",
            format!(
                "--sweep lists {} rates, more than {MAX_SWEEP_STEPS}",
                rates.len()
            ),
            "split the sweep into several runs",
        ));
    }
    Ok(rates)
}

pub fn run(args: BenchArgs, g: &Global) -> CliResult<()> {
    match args.cmd {
        Some(BenchCmd::Verify) => {
            warn_if_busy();
            verify::run(g)
        }
        None => {
            let config = args.load.validate()?;
            warn_if_busy();
            run::run(config, g)
        }
    }
}

/// Warns when other work is using the cores: every figure here is bounded by the CPU it gets,
/// so on a busy machine they understate what the chain (or the machine) can do.
fn warn_if_busy() {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok());
    if let Some(load) = load.filter(|l| *l > cores as f64 * 0.5) {
        eprintln!(
            "warning: the machine is busy (load average {load:.1} on {cores} cores): the figures understate it"
        );
    }
}

/// Whether progress lines are drawn: on a terminal only (a pipe gets the phase lines alone).
fn progress_shown() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// Redraws the progress line in place (terminals only).
fn progress(line: &str) {
    if progress_shown() {
        eprint!("\r{line}\x1b[K");
    }
}

/// Ends a progress line, so the next output starts on a line of its own.
fn progress_done() {
    if progress_shown() {
        eprintln!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> LoadArgs {
        LoadArgs {
            rate: 1000,
            duration: 20,
            warmup: 5,
            senders: 2000,
            batch: 64,
            connections: 4,
            sweep: None,
            drain: 30,
        }
    }

    #[test]
    fn sweeps_parse_in_order_and_bad_lists_are_named() {
        assert_eq!(
            parse_sweep("2000, 5000,10000").unwrap(),
            [2000, 5000, 10000]
        );
        assert_eq!(parse_sweep("10,x").unwrap_err().code, "bad_sweep");
        assert_eq!(parse_sweep("").unwrap_err().code, "bad_sweep");
        assert_eq!(parse_sweep(&"1,".repeat(17)).unwrap_err().code, "bad_sweep");
    }

    #[test]
    fn every_flag_is_checked_by_name() {
        let code = |f: fn(&mut LoadArgs)| {
            let mut a = args();
            f(&mut a);
            a.validate().err().map(|e| e.code)
        };
        assert_eq!(code(|_| {}), None);
        assert_eq!(code(|a| a.rate = 0).as_deref(), Some("bad_rate"));
        assert_eq!(code(|a| a.duration = 0).as_deref(), Some("bad_duration"));
        assert_eq!(code(|a| a.warmup = 601).as_deref(), Some("bad_warmup"));
        assert_eq!(code(|a| a.senders = 0).as_deref(), Some("bad_senders"));
        assert_eq!(code(|a| a.batch = 1025).as_deref(), Some("bad_batch"));
        assert_eq!(
            code(|a| a.connections = 0).as_deref(),
            Some("bad_connections")
        );
        assert_eq!(code(|a| a.drain = 0).as_deref(), Some("bad_drain"));
        assert_eq!(
            code(|a| a.sweep = Some("10,0".into())).as_deref(),
            Some("bad_rate")
        );
        assert_eq!(
            code(|a| {
                a.rate = 1_000_000;
                a.duration = 3600
            })
            .as_deref(),
            Some("run_too_large")
        );
    }
}

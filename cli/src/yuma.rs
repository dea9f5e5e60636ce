//! `tensorchain yuma simulate`: run Yuma epochs offline on a JSON snapshot, for subnet designers.

use crate::error::{CliError, CliResult};
use crate::output::table;
use clap::Subcommand;
use std::io::Read;
use std::path::PathBuf;
use tensorchain_subnet_engine::snapshot::{output_json, simulate};
use tensorchain_subnet_engine::EpochOutput;

#[derive(Subcommand)]
pub enum YumaCmd {
    /// Read a snapshot (one epoch or {"epochs": [...]}) and print the epoch outputs as JSON.
    Simulate {
        /// Snapshot file; stdin when absent.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Also print a per-uid table of each epoch (to stderr, so stdout stays JSON).
        #[arg(long)]
        table: bool,
    },
}

pub fn run(cmd: YumaCmd) -> CliResult<()> {
    let YumaCmd::Simulate {
        input,
        table: show_table,
    } = cmd;
    let text = match &input {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            CliError::new(
                "io_error",
                format!("{}: {e}", path.display()),
                "check the path",
            )
        })?,
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
    };
    let snapshot: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::new(
            "invalid_json",
            format!("the snapshot is not JSON: {e}"),
            "see docs/yuma-snapshot.md for the format",
        )
    })?;
    let (outputs, sequence) = simulate(&snapshot).map_err(|e| {
        CliError::new(
            "invalid_snapshot",
            e.to_string(),
            "see docs/yuma-snapshot.md for the format",
        )
    })?;
    if show_table {
        for (t, o) in outputs.iter().enumerate() {
            if sequence {
                eprintln!("epoch {t}");
            }
            eprintln!("{}\n", epoch_table(o));
        }
    }
    let json: Vec<serde_json::Value> = outputs.iter().map(output_json).collect();
    let out = if sequence {
        serde_json::Value::Array(json)
    } else {
        json.into_iter().next().unwrap_or_default()
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&out).expect("output serializes")
    );
    Ok(())
}

fn epoch_table(o: &EpochOutput) -> String {
    let f = |x: tensorchain_subnet_engine::Fx| format!("{:.5}", x.to_num::<f64>());
    let rows: Vec<Vec<String>> = (0..o.n)
        .map(|i| {
            vec![
                i.to_string(),
                f(o.stake[i]),
                if o.active[i] {
                    "yes".into()
                } else {
                    "no".into()
                },
                if o.validator_permit_used[i] {
                    "*".into()
                } else {
                    String::new()
                },
                f(o.consensus[i]),
                f(o.incentive[i]),
                f(o.dividends[i]),
                f(o.validator_trust[i]),
                o.server_emission[i].to_string(),
                o.validator_emission[i].to_string(),
            ]
        })
        .collect();
    let mut t = table(
        &[
            "UID",
            "STAKE",
            "ACTIVE",
            "VAL",
            "CONSENSUS",
            "INCENTIVE",
            "DIVIDENDS",
            "VTRUST",
            "MINER_RAO",
            "VALIDATOR_RAO",
        ],
        &rows,
    );
    let paid: u64 = o.emission.iter().sum();
    t.push_str(&format!("\ntotal paid {paid} rao"));
    t
}

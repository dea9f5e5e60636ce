//! `tensorchain validator …`: offer a hotkey as a chain validator, withdraw it, list the set.

use crate::client::Client;
use crate::error::CliResult;
use crate::output::{print_json, table};
use crate::stake::hotkey;
use crate::wallet::{send, signer};
use crate::Global;
use clap::Subcommand;
use tensorchain_primitives::{format_tao, Call};

#[derive(Subcommand)]
pub enum ValidatorCmd {
    /// Offer the hotkey (default: the wallet's, -H) as a chain validator; the top stakes join the
    /// set at the next validator epoch.
    Register {
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        no_wait: bool,
    },
    /// Withdraw the hotkey; it leaves the set at the next validator epoch.
    Unregister {
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        no_wait: bool,
    },
    /// The validator set, candidates and jailed hotkeys.
    List,
}

/// register_validator (`offer`) or unregister_validator for a hotkey.
fn candidacy(
    g: &Global,
    offer: bool,
    hotkey_address: Option<&str>,
    dry_run: bool,
    no_wait: bool,
) -> CliResult<()> {
    let hotkey = hotkey(g, hotkey_address)?;
    let (call, summary) = if offer {
        (
            Call::RegisterValidator { hotkey },
            format!("register {hotkey} as a validator candidate"),
        )
    } else {
        (
            Call::UnregisterValidator { hotkey },
            format!("withdraw {hotkey} as a validator"),
        )
    };
    send(g, &signer(g)?, call, &summary, dry_run, no_wait)
}

pub fn run(cmd: ValidatorCmd, g: &Global) -> CliResult<()> {
    match cmd {
        ValidatorCmd::Register {
            hotkey_address,
            dry_run,
            no_wait,
        } => candidacy(g, true, hotkey_address.as_deref(), dry_run, no_wait),
        ValidatorCmd::Unregister {
            hotkey_address,
            dry_run,
            no_wait,
        } => candidacy(g, false, hotkey_address.as_deref(), dry_run, no_wait),
        ValidatorCmd::List => {
            let v: serde_json::Value = Client::new(&g.network).get("/v1/validators?limit=256")?;
            let data = &v;
            if g.json {
                print_json(data);
                return Ok(());
            }
            let rao = |x: &serde_json::Value| {
                x.as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .map_or("-".into(), format_tao)
            };
            let rows: Vec<Vec<String>> = data["validators"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| {
                    vec![
                        v["hotkey"].as_str().unwrap_or_default().to_string(),
                        rao(&v["voting_power"]),
                        format!("{:.1}%", v["power_share"].as_f64().unwrap_or(0.0) * 100.0),
                        v["last_signed_height"]
                            .as_u64()
                            .map_or("-".into(), |h| h.to_string()),
                    ]
                })
                .collect();
            println!(
                "{}",
                table(&["HOTKEY", "POWER (TAO)", "SHARE", "LAST SIGNED"], &rows)
            );
            println!(
                "{} candidates, {} jailed; the set is recomputed every {} blocks (top {})",
                data["candidates"].as_array().map_or(0, |a| a.len()),
                data["jailed"].as_array().map_or(0, |a| a.len()),
                data["validator_epoch"],
                data["max_validators"]
            );
            Ok(())
        }
    }
}

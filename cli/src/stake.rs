//! `tensorchain stake …`: bond TAO behind hotkeys, unbond it, list stakes, set a delegate take.

use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::keystore::Wallets;
use crate::output::{print_json, table};
use crate::wallet::{
    bad_address, chain_and_fee, coldkey_address, parse_amount, send, signer, AccountData,
};
use crate::Global;
use clap::Subcommand;
use serde_json::Value;
use tensorchain_primitives::{format_tao, AccountId, Call};

#[derive(Subcommand)]
pub enum StakeCmd {
    /// Stake free TAO of the coldkey behind a hotkey (default: the wallet's hotkey, -H).
    Add {
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        amount: Option<String>,
        /// Stake the whole free balance less the fee: exactly 0 stays free.
        #[arg(long)]
        all: bool,
        /// Hotkey address; without it, the wallet's hotkey (or the dev hotkey with --uri).
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        no_wait: bool,
    },
    /// Unstake TAO from a hotkey back to the coldkey's free balance.
    Remove {
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        amount: Option<String>,
        /// Unstake everything behind the hotkey, counted when the block runs: exactly 0 stays.
        #[arg(long)]
        all: bool,
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        no_wait: bool,
    },
    /// Move the coldkey's stake from one hotkey to another in one call (it stays bonded).
    Move {
        /// Hotkey name in the wallet or address; without it, the wallet's hotkey (-H).
        #[arg(long)]
        from_hotkey: Option<String>,
        /// Hotkey name in the wallet or address.
        #[arg(long)]
        to_hotkey: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        no_wait: bool,
    },
    /// Give stake behind a hotkey to another coldkey in one call (it stays bonded).
    Transfer {
        /// The receiving coldkey's address.
        #[arg(long)]
        dest: String,
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        no_wait: bool,
    },
    /// The coldkey's stakes (or any --address's).
    List {
        #[arg(long)]
        address: Option<String>,
    },
    /// Hotkeys to nominate: stake, take and owner, most staked first.
    Delegates,
    /// Set the share of validator dividends the hotkey's owner keeps, in percent (0–18).
    SetTake {
        #[arg(long)]
        take: String,
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        no_wait: bool,
    },
}

/// The hotkey a command acts on: an explicit address, the dev hotkey of --uri, or the wallet's.
pub fn hotkey(g: &Global, explicit: Option<&str>) -> CliResult<AccountId> {
    match (explicit, &g.uri) {
        (Some(a), _) => a.parse().map_err(|e| bad_address(a, e)),
        (None, Some(name)) => Ok(tensorchain_genesis::dev_hotkey(name).account()),
        (None, None) => Ok(Wallets::new(&g.home())
            .hotkey(&g.wallet, &g.hotkey)?
            .account()),
    }
}

/// A hotkey given on the command line: an address, or the name of a hotkey in the wallet.
pub fn hotkey_arg(g: &Global, s: &str) -> CliResult<AccountId> {
    match s.parse::<AccountId>() {
        Ok(id) => Ok(id),
        Err(e) if s.starts_with("0x") || s.len() > 40 => Err(bad_address(s, e)),
        Err(_) => Ok(Wallets::new(&g.home()).hotkey(&g.wallet, s)?.account()),
    }
}

/// The whole free balance less the add_stake fee: what `stake add --all` bonds.
fn all_free(g: &Global) -> CliResult<u64> {
    let client = Client::new(&g.network);
    let (_, fee) = chain_and_fee(&client, "add_stake")?;
    let account: AccountData = client.get(&format!("/v1/accounts/{}", coldkey_address(g)?))?;
    let free: u64 = account.free.parse().unwrap_or(0);
    free.checked_sub(fee).filter(|a| *a > 0).ok_or_else(|| {
        CliError::new(
            "insufficient_balance",
            format!(
                "the free balance {} TAO does not cover the {} TAO fee",
                format_tao(free),
                format_tao(fee)
            ),
            "check the balance with `tensorchain wallet balance`",
        )
    })
}

/// "9" or "9%" percent → u16 take (x / 100 · 65535, rounded down).
fn parse_take(s: &str) -> CliResult<u16> {
    let bad = || {
        CliError::new(
            "bad_take",
            format!("'{s}' is not a percentage"),
            "give the take in percent, e.g. 9 or 9.5",
        )
    };
    let pct = crate::wallet::parse_amount(s.trim_end_matches('%')).map_err(|_| bad())?;
    // parse_amount gives 10^9 units per whole number: percent·10^9.
    let take = (pct as u128 * 65535) / (100 * 1_000_000_000u128);
    u16::try_from(take).map_err(|_| bad())
}

/// add_stake (`bond`) or remove_stake of an amount of TAO behind a hotkey; `None` is "all".
fn bond_or_unbond(
    g: &Global,
    bond: bool,
    amount: Option<&str>,
    hotkey_address: Option<&str>,
    dry_run: bool,
    no_wait: bool,
) -> CliResult<()> {
    let hotkey = hotkey(g, hotkey_address)?;
    let (call, summary) = match (bond, amount) {
        (true, amount) => {
            let amount = match amount {
                Some(a) => parse_amount(a)?,
                None => all_free(g)?,
            };
            (
                Call::AddStake { hotkey, amount },
                format!("stake {} TAO behind {hotkey}", format_tao(amount)),
            )
        }
        (false, Some(amount)) => {
            let amount = parse_amount(amount)?;
            (
                Call::RemoveStake { hotkey, amount },
                format!("unstake {} TAO from {hotkey}", format_tao(amount)),
            )
        }
        (false, None) => (
            Call::RemoveAllStake { hotkey },
            format!("unstake everything from {hotkey}"),
        ),
    };
    send(g, &signer(g)?, call, &summary, dry_run, no_wait)
}

pub fn run(cmd: StakeCmd, g: &Global) -> CliResult<()> {
    match cmd {
        StakeCmd::Add {
            amount,
            all: _,
            hotkey_address,
            dry_run,
            no_wait,
        } => bond_or_unbond(
            g,
            true,
            amount.as_deref(),
            hotkey_address.as_deref(),
            dry_run,
            no_wait,
        )?,
        StakeCmd::Remove {
            amount,
            all: _,
            hotkey_address,
            dry_run,
            no_wait,
        } => bond_or_unbond(
            g,
            false,
            amount.as_deref(),
            hotkey_address.as_deref(),
            dry_run,
            no_wait,
        )?,
        StakeCmd::Move {
            from_hotkey,
            to_hotkey,
            amount,
            dry_run,
            no_wait,
        } => {
            let from_hotkey = match from_hotkey {
                Some(h) => hotkey_arg(g, &h)?,
                None => hotkey(g, None)?,
            };
            let to_hotkey = hotkey_arg(g, &to_hotkey)?;
            let amount = parse_amount(&amount)?;
            let summary = format!(
                "move {} TAO of stake from {from_hotkey} to {to_hotkey}",
                format_tao(amount)
            );
            let call = Call::MoveStake {
                from_hotkey,
                to_hotkey,
                amount,
            };
            send(g, &signer(g)?, call, &summary, dry_run, no_wait)?;
        }
        StakeCmd::Transfer {
            dest,
            hotkey_address,
            amount,
            dry_run,
            no_wait,
        } => {
            let hotkey = hotkey(g, hotkey_address.as_deref())?;
            let dest: AccountId = dest.parse().map_err(|e| bad_address(&dest, e))?;
            let amount = parse_amount(&amount)?;
            let summary = format!(
                "give {} TAO of stake behind {hotkey} to {dest}",
                format_tao(amount)
            );
            let call = Call::TransferStake {
                hotkey,
                dest,
                amount,
            };
            send(g, &signer(g)?, call, &summary, dry_run, no_wait)?;
        }
        StakeCmd::SetTake {
            take,
            hotkey_address,
            dry_run,
            no_wait,
        } => {
            let hotkey = hotkey(g, hotkey_address.as_deref())?;
            let take_u16 = parse_take(&take)?;
            let summary = format!("set the take of {hotkey} to {take}%");
            send(
                g,
                &signer(g)?,
                Call::SetTake {
                    hotkey,
                    take: take_u16,
                },
                &summary,
                dry_run,
                no_wait,
            )?;
        }
        StakeCmd::Delegates => {
            let mut list = Client::new(&g.network).get_all("/v1/hotkeys")?;
            let stake = |d: &Value| {
                d["total_stake"]
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            list.sort_by_key(|d| std::cmp::Reverse(stake(d)));
            if g.json {
                print_json(&Value::Array(list));
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|d| {
                        vec![
                            d["hotkey"].as_str().unwrap_or("").to_string(),
                            format!("{} TAO", format_tao(stake(d))),
                            format!("{:.2}%", d["take"].as_u64().unwrap_or(0) as f64 / 655.35),
                            d["owner"].as_str().unwrap_or("").to_string(),
                        ]
                    })
                    .collect();
                println!("{}", table(&["HOTKEY", "STAKE", "TAKE", "OWNER"], &rows));
            }
        }
        StakeCmd::List { address } => {
            let id = match address {
                Some(a) => a.parse::<AccountId>().map_err(|e| bad_address(&a, e))?,
                None => coldkey_address(g)?,
            };
            let data: Value = Client::new(&g.network).get(&format!("/v1/accounts/{id}/stakes"))?;
            if g.json {
                print_json(&data);
            } else {
                let tao = |v: &Value| {
                    format!(
                        "{} TAO",
                        format_tao(v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0))
                    )
                };
                let rows: Vec<Vec<String>> = data["stakes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|s| {
                                vec![
                                    s["hotkey"].as_str().unwrap_or("").to_string(),
                                    tao(&s["amount"]),
                                ]
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if rows.is_empty() {
                    println!("{id} has no stake");
                } else {
                    println!(
                        "{}\ntotal {}",
                        table(&["HOTKEY", "STAKE"], &rows),
                        tao(&data["total"])
                    );
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_parse_as_percent() {
        assert_eq!(parse_take("18").unwrap(), 11796);
        assert_eq!(parse_take("0").unwrap(), 0);
        assert_eq!(parse_take("9%").unwrap(), 5898);
        assert!(parse_take("abc").is_err());
    }
}

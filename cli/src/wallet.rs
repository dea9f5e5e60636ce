//! `tensorchain wallet …`: keys on disk, balances and transfers.

use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::keystore::{WalletEntry, Wallets};
use crate::output::{print_json, table};
use crate::wallet_keys;
use crate::Global;
use clap::Subcommand;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::time::Duration;
use tensorchain_primitives::{format_tao, parse_tao, AccountId, Call, Keypair};
use tensorchain_subnet_sdk::rest::ChainInfo;

#[derive(Subcommand)]
pub enum WalletCmd {
    /// Create a wallet: a coldkey and its first hotkey, each with a recovery phrase shown once.
    Create {
        /// Words in each recovery phrase: 12 or 24.
        #[arg(long, default_value_t = 12)]
        words: usize,
        /// Store the coldkey unencrypted (test wallets only).
        #[arg(long)]
        no_password: bool,
        /// Replace existing keys of that name.
        #[arg(long)]
        overwrite: bool,
    },
    /// Add a hotkey (-H NAME) to a wallet, with a recovery phrase shown once.
    NewHotkey {
        /// Words in the recovery phrase: 12 or 24.
        #[arg(long, default_value_t = 12)]
        words: usize,
        #[arg(long)]
        overwrite: bool,
    },
    /// Restore the coldkey from its recovery phrase (`PHRASE[//hard][///password]`).
    RegenColdkey {
        /// The phrase; without it, TENSORCHAIN_MNEMONIC or a hidden prompt (kept out of shell history).
        #[arg(long)]
        mnemonic: Option<String>,
        #[arg(long)]
        no_password: bool,
        #[arg(long)]
        overwrite: bool,
    },
    /// Restore a hotkey (-H NAME) from its recovery phrase.
    RegenHotkey {
        #[arg(long)]
        mnemonic: Option<String>,
        #[arg(long)]
        overwrite: bool,
    },
    /// A watch-only wallet: the coldkey's address, to query but never sign.
    RegenColdkeypub {
        #[arg(long)]
        address: String,
        #[arg(long)]
        overwrite: bool,
    },
    /// Sign a message off chain with the hotkey (-H) or the coldkey, as polkadot.js does
    /// (the bytes wrapped in <Bytes>…</Bytes>).
    Sign {
        #[arg(long)]
        message: String,
        /// Sign with the coldkey instead of the hotkey.
        #[arg(long)]
        coldkey: bool,
    },
    /// Check a signature made by `wallet sign` (or polkadot.js signRaw) over a message.
    Verify {
        #[arg(long)]
        message: String,
        #[arg(long)]
        signature: String,
        /// The signer's SS58 address (or 0x hex public key).
        #[arg(long)]
        address: String,
    },
    /// Replace a hotkey (-H, or --hotkey-address) by a new one on chain: its stake, nominations,
    /// take, registrations, axons and validator candidacy move; the old one keeps nothing.
    SwapHotkey {
        /// The old hotkey's address; without it, the wallet's hotkey (-H).
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        /// The new hotkey: a hotkey name in this wallet or an address.
        #[arg(long)]
        new_hotkey: String,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        no_wait: bool,
    },
    /// List wallets and their keys.
    List,
    /// Free, staked and total balance of a coldkey (or any --address).
    Balance {
        #[arg(long)]
        address: Option<String>,
    },
    /// Balance, stakes and subnet registrations of the coldkey (or any --address).
    Overview {
        #[arg(long)]
        address: Option<String>,
    },
    /// Send TAO from the coldkey to an address.
    Transfer {
        /// Recipient: SS58 address or 0x hex.
        #[arg(long, alias = "to")]
        dest: String,
        /// Amount in TAO, up to 9 decimals.
        #[arg(long)]
        amount: String,
        /// Show what would happen without submitting.
        #[arg(long)]
        dry_run: bool,
        /// Return once the node accepts the transaction instead of waiting for its block.
        #[arg(long)]
        no_wait: bool,
    },
    /// Devnets only: TAO for proof of work, paid to the coldkey (cli/src/pow.rs).
    Faucet {
        /// Solver threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
    },
}

#[derive(Deserialize)]
pub struct AccountData {
    address: String,
    pub free: String,
    staked: String,
    /// Stake leaving a validator, slashable until its release block.
    unbonding: String,
    unbonding_entries: serde_json::Value,
    total: String,
}

pub fn bad_address(s: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(
        "bad_address",
        format!("'{s}': {e}"),
        "use an SS58 address (5...) or 0x-prefixed hex public key",
    )
}

/// Dev keys' secrets are public: they sign only on devnets (finding 12 of the Byzantine-peers
/// review: `--validator-uri` was accepted on any chain).
pub fn refuse_dev_key_off_devnet(chain_id: &str, flag: &str) -> CliResult<()> {
    if tensorchain_genesis::is_devnet_chain_id(chain_id) {
        return Ok(());
    }
    Err(CliError::new(
        "dev_key_refused",
        format!("{flag} uses a dev key, whose secret anyone can derive, on chain {chain_id}"),
        "dev keys sign only on devnets (a chain id containing \"devnet\"); use a wallet (-w/-H)",
    ))
}

/// The coldkey to act with: a dev key from --uri, or the wallet's.
pub fn signer(g: &Global) -> CliResult<Keypair> {
    match &g.uri {
        Some(name) => Ok(Keypair::dev(name)),
        None => Wallets::new(&g.home()).coldkey(&g.wallet),
    }
}

pub fn coldkey_address(g: &Global) -> CliResult<AccountId> {
    match &g.uri {
        Some(name) => Ok(Keypair::dev(name).account()),
        None => Wallets::new(&g.home()).coldkey_public(&g.wallet),
    }
}

pub fn run(cmd: WalletCmd, g: &Global) -> CliResult<()> {
    let wallets = Wallets::new(&g.home());
    match cmd {
        WalletCmd::Create {
            words,
            no_password,
            overwrite,
        } => wallet_keys::create(g, words, no_password, overwrite)?,
        WalletCmd::NewHotkey { words, overwrite } => wallet_keys::new_hotkey(g, words, overwrite)?,
        WalletCmd::RegenColdkey {
            mnemonic,
            no_password,
            overwrite,
        } => wallet_keys::regen_coldkey(g, mnemonic, no_password, overwrite)?,
        WalletCmd::RegenHotkey {
            mnemonic,
            overwrite,
        } => wallet_keys::regen_hotkey(g, mnemonic, overwrite)?,
        WalletCmd::RegenColdkeypub { address, overwrite } => {
            wallet_keys::regen_coldkeypub(g, &address, overwrite)?
        }
        WalletCmd::Sign { message, coldkey } => wallet_keys::sign(g, &message, coldkey)?,
        WalletCmd::Verify {
            message,
            signature,
            address,
        } => wallet_keys::verify(g, &message, &signature, &address)?,
        WalletCmd::SwapHotkey {
            hotkey_address,
            new_hotkey,
            dry_run,
            no_wait,
        } => {
            let old = crate::stake::hotkey(g, hotkey_address.as_deref())?;
            let new = crate::stake::hotkey_arg(g, &new_hotkey)?;
            let summary = format!("swap hotkey {old} for {new} (burns 1 TAO)");
            send(
                g,
                &signer(g)?,
                Call::SwapHotkey { old, new },
                &summary,
                dry_run,
                no_wait,
            )?;
        }
        WalletCmd::List => {
            let list = wallets.list()?;
            if g.json {
                let v: Vec<Value> = list
                    .iter()
                    .map(|w| json!({
                        "name": w.name, "coldkey": w.coldkey,
                        "watch_only": wallets.is_watch_only(&w.name).unwrap_or(false),
                        "hotkeys": w.hotkeys.iter().map(|(n, a)| json!({"name": n, "address": a})).collect::<Vec<_>>(),
                    }))
                    .collect();
                print_json(&v);
            } else if list.is_empty() {
                println!(
                    "no wallets under {}; create one with `tensorchain wallet create`",
                    g.home().join("wallets").display()
                );
            } else {
                for WalletEntry {
                    name,
                    coldkey: cold,
                    hotkeys: hot,
                } in list
                {
                    let watch = if wallets.is_watch_only(&name).unwrap_or(false) {
                        "  (watch-only)"
                    } else {
                        ""
                    };
                    println!(
                        "{name}  coldkey {}{watch}",
                        cold.map(|c| c.to_string())
                            .unwrap_or_else(|| "(missing)".into())
                    );
                    for (hk, addr) in hot {
                        println!("  └─ {hk}  {addr}");
                    }
                }
            }
        }
        WalletCmd::Balance { address } => {
            let id = match address {
                Some(a) => a.parse::<AccountId>().map_err(|e| bad_address(&a, e))?,
                None => coldkey_address(g)?,
            };
            let client = Client::new(&g.network);
            let a: AccountData = client.get(&format!("/v1/accounts/{id}"))?;
            if g.json {
                print_json(&json!({
                    "address": a.address, "free": a.free, "staked": a.staked,
                    "unbonding": a.unbonding, "unbonding_entries": a.unbonding_entries,
                    "total": a.total,
                }));
            } else {
                let tao = |s: &str| format!("{} TAO", format_tao(s.parse().unwrap_or(0)));
                println!(
                    "{}",
                    table(
                        &["ADDRESS", "FREE", "STAKED", "UNBONDING", "TOTAL"],
                        &[vec![
                            a.address.clone(),
                            tao(&a.free),
                            tao(&a.staked),
                            tao(&a.unbonding),
                            tao(&a.total)
                        ]],
                    )
                );
                // When each unbonding entry becomes free, so nobody wonders where the TAO went.
                for e in a.unbonding_entries.as_array().into_iter().flatten() {
                    println!(
                        "  unbonding {} from {} until block {}",
                        tao(e["amount"].as_str().unwrap_or("0")),
                        e["hotkey"].as_str().unwrap_or("?"),
                        e["release_at"]
                    );
                }
            }
        }
        WalletCmd::Overview { address } => overview(g, address)?,
        WalletCmd::Transfer {
            dest,
            amount,
            dry_run,
            no_wait,
        } => transfer(g, &dest, &amount, dry_run, no_wait)?,
        WalletCmd::Faucet { threads } => crate::pow::faucet(
            g,
            threads.unwrap_or_else(crate::pow::default_threads),
            &signer(g)?,
        )?,
    }
    Ok(())
}

fn transfer(g: &Global, dest: &str, amount: &str, dry_run: bool, no_wait: bool) -> CliResult<()> {
    let to: AccountId = dest.parse().map_err(|e| bad_address(dest, e))?;
    let amount = parse_amount(amount)?;
    let summary = format!("send {} TAO to {to}", format_tao(amount));
    send(
        g,
        &signer(g)?,
        Call::Transfer { to, amount },
        &summary,
        dry_run,
        no_wait,
    )
}

pub fn parse_amount(amount: &str) -> CliResult<u64> {
    parse_tao(amount)
        .map_err(|e| CliError::new("bad_amount", e.to_string(), "amounts are TAO, e.g. 1.5"))
}

/// Submits a call (see `submit`) and prints the outcome.
pub fn send(
    g: &Global,
    key: &Keypair,
    call: Call,
    summary: &str,
    dry_run: bool,
    no_wait: bool,
) -> CliResult<()> {
    let result = submit(g, key, call, summary, dry_run, no_wait)?;
    print_submitted(g, &result, summary);
    Ok(())
}

/// Prints the outcome of `submit`: JSON as is, or one human line.
fn print_submitted(g: &Global, result: &Value, summary: &str) {
    if g.json {
        print_json(result);
        return;
    }
    let hash = result["hash"].as_str().unwrap_or_default();
    if result["dry_run"].as_bool() == Some(true) {
        println!(
            "dry run: would {summary} (fee {} rao); nothing submitted",
            result["fee"].as_str().unwrap_or("?")
        );
    } else if let Some(h) = result["height"].as_u64() {
        println!("{summary}: included in block {h}\n  tx {hash}");
    } else {
        println!("{summary}: submitted\n  tx {hash} (pending)");
    }
}

/// The chain's description and its fee for a call kind (by `Call::name`).
pub fn chain_and_fee(client: &Client, call_name: &str) -> CliResult<(ChainInfo, u64)> {
    let chain = client.chain()?;
    let fee = chain.fee(call_name)?;
    Ok((chain, fee))
}

/// Signs `call` with the chain's fee and the signer's next nonce, then simulates it (`dry_run`) or
/// submits it and, unless `no_wait`, waits for its block. Asks first on a terminal unless `-y`.
pub fn submit(
    g: &Global,
    key: &Keypair,
    call: Call,
    summary: &str,
    dry_run: bool,
    no_wait: bool,
) -> CliResult<Value> {
    let client = Client::new(&g.network);
    let stx = client.sign(key, call)?;
    if g.uri.is_some() {
        refuse_dev_key_off_devnet(&stx.tx.chain_id, "--uri")?;
    }
    let fee = stx.tx.fee;
    if dry_run {
        let sim: Value = client.post("/v1/txs/simulate", &Client::tx_body(&stx))?;
        return Ok(
            json!({"dry_run": true, "hash": sim["hash"], "fee": sim["fee"], "effects": sim["effects"]}),
        );
    }
    if !g.yes && !g.json && std::io::stdin().is_terminal() {
        eprint!(
            "{summary} from {} (fee {} TAO)? [y/N] ",
            key.account(),
            format_tao(fee)
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(CliError::new(
                "cancelled",
                "nothing was sent",
                "pass -y to skip the question",
            ));
        }
    }
    let hash = client.submit(&stx)?;
    let mut result =
        json!({"hash": hash, "status": "pending", "fee": fee.to_string(), "call": stx.tx.call});
    if !no_wait {
        let status = wait_for_inclusion(&client, &hash, g.json)?;
        result["status"] = status["status"].clone();
        result["height"] = status["height"].clone();
    }
    Ok(result)
}

/// Waits for the transaction's block (or its failure), showing progress on a terminal.
fn wait_for_inclusion(client: &Client, hash: &str, quiet: bool) -> CliResult<Value> {
    let show = !quiet && std::io::stderr().is_terminal();
    let status = client.wait_included(hash, Duration::from_secs(60), |waited| {
        if show {
            eprint!("\rwaiting for inclusion… {:.1}s", waited.as_secs_f64());
        }
    });
    if show {
        eprintln!();
    }
    Ok(status?)
}

fn overview(g: &Global, address: Option<String>) -> CliResult<()> {
    let id = match address {
        Some(a) => a.parse::<AccountId>().map_err(|e| bad_address(&a, e))?,
        None => coldkey_address(g)?,
    };
    let client = Client::new(&g.network);
    let account: Value = client.get(&format!("/v1/accounts/{id}"))?;
    let stakes: Value = client.get(&format!("/v1/accounts/{id}/stakes"))?;
    let mut hotkeys = Vec::new();
    for s in stakes["stakes"].as_array().into_iter().flatten() {
        let hk = s["hotkey"].as_str().unwrap_or_default();
        let info: Value = client.get(&format!("/v1/hotkeys/{hk}"))?;
        hotkeys.push(json!({"hotkey": hk, "stake": s["amount"], "registrations": info["registrations"], "take": info["take"]}));
    }
    if g.json {
        print_json(&json!({
            "address": account["address"], "free": account["free"], "staked": account["staked"],
            "total": account["total"], "hotkeys": hotkeys,
        }));
        return Ok(());
    }
    let tao = |v: &Value| {
        format!(
            "{} TAO",
            format_tao(v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0))
        )
    };
    println!(
        "coldkey {id}\n  free {}   staked {}   total {}",
        tao(&account["free"]),
        tao(&account["staked"]),
        tao(&account["total"])
    );
    if hotkeys.is_empty() {
        println!("  no stake behind any hotkey");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = hotkeys
        .iter()
        .map(|h| {
            let regs: Vec<String> = h["registrations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| format!("{}:{}", r[0], r[1]))
                .collect();
            vec![
                h["hotkey"].as_str().unwrap_or("").to_string(),
                tao(&h["stake"]),
                if regs.is_empty() {
                    "-".into()
                } else {
                    regs.join(" ")
                },
            ]
        })
        .collect();
    println!(
        "{}",
        table(&["HOTKEY", "STAKE", "SUBNETS (netuid:uid)"], &rows)
    );
    Ok(())
}

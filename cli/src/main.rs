//! `tensorchain`: run a node or a devnet, and use the chain from the command line.

mod abuse;
mod alloc;
mod bench;
mod chaos;
mod client;
mod devnet;
mod error;
mod keystore;
mod mnemonic;
mod node;
mod output;
mod pow;
mod stake;
mod subnet;
mod template;
mod testnet;
mod validator;
mod verify_proof;
mod wallet;
mod wallet_keys;
mod yuma;

use clap::{Parser, Subcommand};
use error::CliError;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "tensorchain",
    version,
    about = "A proof-of-stake chain that rewards AI work",
    propagate_version = true
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct Global {
    /// Node to talk to: `local` (http://127.0.0.1:8080) or a URL.
    #[arg(
        long,
        global = true,
        default_value = "local",
        env = "TENSORCHAIN_NETWORK"
    )]
    pub network: String,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Answer yes to every confirmation (scripts never wait on a prompt).
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// Wallet name under <home>/wallets.
    #[arg(
        short = 'w',
        long = "wallet-name",
        global = true,
        default_value = "default"
    )]
    pub wallet: String,
    /// Hotkey name within the wallet.
    #[arg(short = 'H', long, global = true, default_value = "default")]
    pub hotkey: String,
    /// Use a dev key (alice, bob, charlie, dave, eve, ferdie) instead of wallet files.
    #[arg(long, global = true)]
    pub uri: Option<String>,
    /// Where wallets and the default devnet live.
    #[arg(long, global = true, env = "TENSORCHAIN_HOME")]
    pub home: Option<PathBuf>,
}

impl Global {
    pub fn home(&self) -> PathBuf {
        self.home.clone().unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".tensorchain")
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// A local development chain: funded dev accounts, one command.
    #[command(subcommand)]
    Devnet(devnet::DevnetCmd),
    /// Run a node.
    #[command(subcommand)]
    Node(node::NodeCmd),
    /// Keys, balances and transfers.
    #[command(subcommand)]
    Wallet(wallet::WalletCmd),
    /// Subnets: create, register, hyperparameters, metagraph.
    #[command(subcommand)]
    Subnet(subnet::SubnetCmd),
    /// A validator's weights on a subnet.
    #[command(subcommand)]
    Weights(subnet::WeightsCmd),
    /// Where a hotkey's axon serves.
    #[command(subcommand)]
    Axon(subnet::AxonCmd),
    /// The root network: who splits the block reward among subnets.
    #[command(subcommand)]
    Root(subnet::RootCmd),
    /// The chain's validators: register, unregister, list.
    #[command(subcommand)]
    Validator(validator::ValidatorCmd),
    /// Stake TAO behind hotkeys.
    #[command(subcommand)]
    Stake(stake::StakeCmd),
    /// Open-loop load generator: pre-signed transfers at a fixed rate; reports finalized TPS,
    /// latency to finalization, rejects and lost transactions (`bench verify`: the machine's limit).
    Bench(bench::BenchArgs),
    /// Abusive REST workload (stream floods, replays, made-up methods, heavy lists) against one
    /// node; reports finality, the node's memory and /metrics series.
    Abuse(abuse::AbuseArgs),
    /// Join a network as a misbehaving peer (altered proposals, junk votes, floods, a lying
    /// sync tip, oversized messages) to check that a deployment holds; ends by itself.
    Chaos(chaos::ChaosArgs),
    /// Yuma consensus tools for subnet designers.
    #[command(subcommand)]
    Yuma(yuma::YumaCmd),
    /// Multi-node test networks: write a spec, keys and the commands that start the nodes.
    #[command(subcommand)]
    Testnet(testnet::TestnetCmd),
    /// Check a `?proof=true` answer against a header whose commit the spec's validators signed.
    VerifyProof(verify_proof::VerifyProofArgs),
}

fn main() {
    let cli = Cli::parse();
    let as_json = cli.global.json;
    let result: Result<(), CliError> = match cli.command {
        Command::Devnet(cmd) => devnet::run_devnet(cmd, &cli.global),
        Command::Node(cmd) => node::run_node(cmd, &cli.global),
        Command::Wallet(cmd) => wallet::run(cmd, &cli.global),
        Command::Yuma(cmd) => yuma::run(cmd),
        Command::Bench(args) => bench::run(args, &cli.global),
        Command::Abuse(args) => abuse::run(args, &cli.global),
        Command::Chaos(args) => chaos::run(args, &cli.global),
        Command::Stake(cmd) => stake::run(cmd, &cli.global),
        Command::Validator(cmd) => validator::run(cmd, &cli.global),
        Command::Subnet(cmd) => subnet::run(cmd, &cli.global),
        Command::Weights(cmd) => subnet::run_weights(cmd, &cli.global),
        Command::Axon(cmd) => subnet::run_axon(cmd, &cli.global),
        Command::Root(cmd) => subnet::run_root(cmd, &cli.global),
        Command::VerifyProof(args) => verify_proof::run(args, &cli.global),
        Command::Testnet(cmd) => testnet::run(cmd, &cli.global),
    };
    if let Err(e) = result {
        e.print(as_json);
        std::process::exit(1);
    }
}

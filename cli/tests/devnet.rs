//! The real binary, as a user runs it: `devnet up` produces blocks, a CLI transfer shows up in the
//! recipient's balance within two blocks, and the chain survives SIGTERM and kill -9 restarts.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tensorchain_primitives::Keypair;
use tensorchain_subnet_sdk::template::STRATEGIES;

mod support;
use support::*;

fn rao(v: &Value, field: &str) -> u64 {
    v[field].as_str().unwrap().parse().unwrap()
}

#[test]
fn devnet_transfers_and_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let bob = Keypair::dev("bob").account().to_string();

    let d = up(dir.path(), &["--validators", "1"]);
    wait_for_height(&d, 2);

    let (ok, before) = cli(&d, &home, &["wallet", "balance", "--address", &bob]);
    assert!(ok, "{before}");
    // The head before sending: the CLI returns only once the transfer is included, so a height
    // read afterwards would always be at least the inclusion height.
    let sent_at = height(&d);
    let (ok, sent) = cli(
        &d,
        &home,
        &[
            "wallet", "transfer", "--uri", "alice", "--dest", &bob, "--amount", "1.5",
        ],
    );
    assert!(ok, "{sent}");
    assert!(sent["hash"].as_str().unwrap().starts_with("0x"));
    let included = sent["height"].as_u64().unwrap();
    assert!(
        included > sent_at && included <= sent_at + 2,
        "included at {included}, sent at height {sent_at}"
    );
    let (_, after) = cli(&d, &home, &["wallet", "balance", "--address", &bob]);
    assert_eq!(rao(&after, "free"), rao(&before, "free") + 1_500_000_000);
    assert_eq!(
        rao(&after, "total"),
        rao(&after, "free") + rao(&after, "staked")
    );

    // A failing command: named error in JSON, non-zero exit, nothing moved.
    let (ok, err) = cli(
        &d,
        &home,
        &[
            "wallet", "transfer", "--uri", "alice", "--dest", &bob, "--amount", "99999999",
        ],
    );
    assert!(!ok);
    assert_eq!(err["error"]["code"], "insufficient_balance");
    let (ok, err) = cli(
        &d,
        &home,
        &[
            "wallet", "transfer", "--uri", "alice", "--dest", "nonsense", "--amount", "1",
        ],
    );
    assert!(!ok);
    assert_eq!(err["error"]["code"], "bad_address");

    // Staking: bob bonds 5 TAO behind his dev hotkey, lowers his take, and cannot unbond more than he has.
    let (ok, staked) = cli(
        &d,
        &home,
        &["stake", "add", "--uri", "bob", "--amount", "5"],
    );
    assert!(ok, "{staked}");
    let (_, list) = cli(&d, &home, &["stake", "list", "--uri", "bob"]);
    assert_eq!(list["total"], "5000000000");
    let (ok, take) = cli(
        &d,
        &home,
        &["stake", "set-take", "--uri", "bob", "--take", "9"],
    );
    assert!(ok, "{take}");
    let bob_hot = Keypair::dev("bob/hot").account().to_string();
    let info = get(&format!("{}/v1/hotkeys/{bob_hot}", d.url));
    assert_eq!(info["data"]["take"], 5898);
    assert_eq!(info["data"]["owner"], bob.as_str());
    let (ok, err) = cli(
        &d,
        &home,
        &["stake", "remove", "--uri", "bob", "--amount", "6"],
    );
    assert!(!ok);
    assert_eq!(err["error"]["code"], "insufficient_stake");
    let (_, now) = cli(&d, &home, &["wallet", "balance", "--address", &bob]);
    assert_eq!(rao(&now, "staked"), 5_000_000_000);
    assert_eq!(
        rao(&now, "unbonding"),
        0,
        "bob's hotkey does not validate: nothing unbonds"
    );
    let after = now;

    // Graceful stop (SIGTERM), then resume: every block and balance is still there.
    wait_for_height(&d, included + 1);
    let block_hash =
        get(&format!("{}/v1/blocks/{included}", d.url))["data"]["header"]["hash"].clone();
    Command::new("kill")
        .args(["-TERM", &d.child.id().to_string()])
        .status()
        .unwrap();
    let mut d = d;
    let status = d.child.wait().unwrap();
    assert!(
        status.success(),
        "devnet exits cleanly on SIGTERM: {status:?}"
    );
    let reached = included + 1;

    let d = up(dir.path(), &[]);
    assert!(height(&d) >= reached, "resumed below the last block");
    assert_eq!(
        get(&format!("{}/v1/blocks/{included}", d.url))["data"]["header"]["hash"],
        block_hash
    );
    let (_, resumed) = cli(&d, &home, &["wallet", "balance", "--address", &bob]);
    assert_eq!(resumed["free"], after["free"]);
    wait_for_height(&d, reached + 2);

    // kill -9: no shutdown path at all; every committed block survives.
    let last = height(&d);
    drop(d);
    let d = up(dir.path(), &[]);
    assert!(height(&d) >= last);
    wait_for_height(&d, last + 1);

    // --reset starts a new chain.
    drop(d);
    let d = up(dir.path(), &["--reset"]);
    assert!(height(&d) < last);
}

#[test]
fn wallet_keys_are_created_listed_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--json", "--home"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .env_remove("TENSORCHAIN_PASSWORD")
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.success(), v)
    };
    let (ok, created) = run(&["wallet", "create", "-w", "main", "--no-password"]);
    assert!(ok, "{created}");
    let (ok, again) = run(&["wallet", "create", "-w", "main", "--no-password"]);
    assert!(!ok);
    assert_eq!(again["error"]["code"], "key_exists");
    let (ok, _) = run(&["wallet", "new-hotkey", "-w", "main", "-H", "miner1"]);
    assert!(ok);
    let (_, list) = run(&["wallet", "list"]);
    assert_eq!(list[0]["name"], "main");
    assert_eq!(list[0]["coldkey"], created["coldkey"]);
    assert_eq!(list[0]["hotkeys"].as_array().unwrap().len(), 2);
    // Without a terminal or TENSORCHAIN_PASSWORD an encrypted wallet cannot be made: no hanging prompt.
    let (ok, err) = run(&["wallet", "create", "-w", "secret"]);
    assert!(!ok);
    assert_eq!(err["error"]["code"], "password_required");
}

#[test]
fn the_demo_subnet_pays_its_first_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let d = up_with(dir.path(), &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let summary = loop {
        assert!(
            Instant::now() < deadline,
            "no epoch paid miners within 60 s"
        );
        // 404 until the demo has created the subnet.
        let epochs: Value = ureq::get(&format!("{}/v1/subnets/1/epochs", d.url))
            .call()
            .ok()
            .and_then(|r| r.into_json().ok())
            .unwrap_or(Value::Null);
        let paid = epochs["data"]["items"]
            .as_array()
            .and_then(|l| l.iter().find(|e| e["to_miners"] != "0").cloned());
        if let Some(e) = paid {
            break e;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let num = |k: &str| summary[k].as_str().unwrap().parse::<u64>().unwrap();
    let (pending, cut) = (num("pending"), num("owner_cut"));
    assert_eq!(cut, pending * 18 / 100, "the owner's 18% cut");
    let n = summary["n"].as_u64().unwrap();
    let distributed = num("to_miners") + num("to_validators");
    assert!(distributed <= pending - cut);
    assert!(
        pending - cut - distributed <= n,
        "at most n rao of dust: {summary}"
    );

    // The metagraph over REST and the CLI's agree, and show miners with incentive and validators with dividends.
    let rest = get(&format!("{}/v1/subnets/1/metagraph", d.url))["data"].clone();
    let (ok, cli_view) = cli(&d, &home, &["subnet", "metagraph", "--netuid", "1"]);
    assert!(ok);
    assert_eq!(rest["hotkey"], cli_view["hotkey"]);
    let incentive: f64 = rest["incentive"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .sum();
    let dividends: f64 = rest["dividends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .sum();
    assert!(
        incentive > 0.9 && dividends > 0.9,
        "incentive {incentive}, dividends {dividends}"
    );
    let (ok, list) = cli(&d, &home, &["subnet", "list"]);
    assert!(ok);
    assert_eq!(list[0]["netuid"], 1);

    // bob's validator hotkey: registered on subnet 1, listed as a delegate; serving an axon shows in the metagraph.
    let (ok, overview) = cli(&d, &home, &["wallet", "overview", "--uri", "bob"]);
    assert!(ok, "{overview}");
    // bob's coldkey also stakes behind its subnet-2 validator hotkey: find its dev hotkey.
    let bob_hot = tensorchain_genesis::dev_hotkey("bob").account().to_string();
    let entry = overview["hotkeys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hotkey"] == bob_hot.as_str())
        .unwrap_or_else(|| panic!("{overview}"));
    assert_eq!(entry["registrations"][0][0], 1);
    let (ok, delegates) = cli(&d, &home, &["stake", "delegates"]);
    assert!(ok && !delegates.as_array().unwrap().is_empty());
    let (ok, served) = cli(
        &d,
        &home,
        &[
            "axon",
            "set",
            "--uri",
            "bob",
            "--netuid",
            "1",
            "--ip",
            "127.0.0.1",
            "--port",
            "8091",
        ],
    );
    assert!(ok, "{served}");
    let axons =
        get(&format!("{}/v1/subnets/1/metagraph?fields=axon", d.url))["data"]["axon"].clone();
    assert!(
        axons
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "127.0.0.1:8091"),
        "{axons}"
    );
    let (ok, bad) = cli(
        &d,
        &home,
        &[
            "axon",
            "set",
            "--uri",
            "dave",
            "--netuid",
            "1",
            "--ip",
            "127.0.0.1",
            "--port",
            "1",
        ],
    );
    assert!(!ok);
    assert_eq!(bad["error"]["code"], "hotkey_not_registered");

    // SSE: replaying from the start streams the epoch, registration and weights events.
    let resp = ureq::get(&format!(
        "{}/v1/events?topics=epoch,registration,weights",
        d.url
    ))
    .set("Last-Event-ID", "0")
    .call()
    .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for line in BufReader::new(resp.into_reader()).lines() {
        let line = line.unwrap();
        if let Some(kind) = line.strip_prefix("event: ") {
            seen.insert(kind.to_string());
        }
        if seen.len() == 3 {
            break;
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec!["epoch", "registration", "weights"]
    );
}

/// The coldkey's stake behind `hotkey` as `stake list` reports it (0 when not listed).
fn stake_behind(d: &Devnet, home: &Path, wallet: &str, hotkey: &str) -> u64 {
    let (ok, list) = cli(d, home, &["stake", "list", "-w", wallet]);
    assert!(ok, "{list}");
    list["stakes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["hotkey"] == hotkey)
        .map_or(0, |s| rao(s, "amount"))
}

#[test]
fn stake_moves_hotkey_swap_and_all_leave_exactly_zero_on_a_devnet() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let d = up(dir.path(), &["--validators", "1"]);
    wait_for_height(&d, 2);
    let run = |args: &[&str]| {
        let (ok, v) = cli(&d, &home, args);
        assert!(ok, "{args:?}: {v}");
        v
    };
    let w = ["-w", "main"];
    let created = run(&[&["wallet", "create", "--no-password"][..], &w].concat());
    let cold = created["coldkey"].as_str().unwrap().to_string();
    let hot = created["hotkey"].as_str().unwrap().to_string();
    let h2 = run(&[&["wallet", "new-hotkey", "-H", "h2"][..], &w].concat())["hotkey"]
        .as_str()
        .unwrap()
        .to_string();
    let h3 = run(&[&["wallet", "new-hotkey", "-H", "h3"][..], &w].concat())["hotkey"]
        .as_str()
        .unwrap()
        .to_string();
    run(&[
        "wallet", "transfer", "--uri", "alice", "--dest", &cold, "--amount", "20",
    ]);

    run(&[&["stake", "add", "--amount", "10"][..], &w].concat());
    run(&[
        &["stake", "move", "--to-hotkey", "h2", "--amount", "4"][..],
        &w,
    ]
    .concat());
    assert_eq!(stake_behind(&d, &home, "main", &hot), 6_000_000_000);
    assert_eq!(stake_behind(&d, &home, "main", &h2), 4_000_000_000);
    let bob = Keypair::dev("bob").account().to_string();
    run(&[
        &["stake", "transfer", "--dest", &bob, "--amount", "1"][..],
        &w,
    ]
    .concat());
    assert_eq!(stake_behind(&d, &home, "main", &hot), 5_000_000_000);
    let (_, bob_stakes) = cli(&d, &home, &["stake", "list", "--address", &bob]);
    assert!(bob_stakes["stakes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["hotkey"] == hot.as_str() && rao(s, "amount") == 1_000_000_000));

    // The hotkey leaks: swap it for h3. The old one holds nothing; the stake follows.
    let swapped = run(&[&["wallet", "swap-hotkey", "--new-hotkey", "h3"][..], &w].concat());
    assert!(swapped["height"].as_u64().is_some(), "{swapped}");
    assert_eq!(stake_behind(&d, &home, "main", &hot), 0);
    assert_eq!(stake_behind(&d, &home, "main", &h3), 5_000_000_000);
    let (_, old) = cli(&d, &home, &["stake", "list", "--address", &bob]);
    assert!(old["stakes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["hotkey"] != hot.as_str()));
    let (ok, again) = cli(
        &d,
        &home,
        &[
            &["wallet", "swap-hotkey", "-H", "h3", "--new-hotkey", "h2"][..],
            &w,
        ]
        .concat(),
    );
    assert!(!ok);
    assert_eq!(again["error"]["code"], "hotkey_swap_rate_limited");

    // remove --all and add --all leave exactly zero behind.
    run(&[&["stake", "remove", "--all", "-H", "h3"][..], &w].concat());
    assert_eq!(stake_behind(&d, &home, "main", &h3), 0);
    let (ok, none) = cli(
        &d,
        &home,
        &[&["stake", "remove", "--all", "-H", "h3"][..], &w].concat(),
    );
    assert!(!ok);
    assert_eq!(none["error"]["code"], "no_stake");
    run(&[&["stake", "add", "--all", "-H", "h2"][..], &w].concat());
    let (_, balance) = cli(&d, &home, &[&["wallet", "balance"][..], &w].concat());
    assert_eq!(rao(&balance, "free"), 0, "{balance}");
    assert_eq!(
        rao(&balance, "staked"),
        stake_behind(&d, &home, "main", &h2)
    );
}

/// An external tool a test drives: `$env_var`, else `name` on the PATH. Missing, the test is
/// skipped with a message, unless `TENSORCHAIN_REQUIRE_TOOLS` is set (`scripts/test` sets it after
/// installing them), where a missing tool is a failure rather than a silent skip.
fn external_tool(env_var: &str, name: &str) -> Option<String> {
    let path = std::env::var(env_var).unwrap_or_else(|_| name.to_string());
    let found = Command::new(&path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match (
        found,
        std::env::var_os("TENSORCHAIN_REQUIRE_TOOLS").is_some(),
    ) {
        (true, _) => Some(path),
        (false, true) => panic!("{name} is required ({env_var}={path}) but does not run"),
        (false, false) => {
            eprintln!("skipped: {name} is not installed (scripts/test installs it)");
            None
        }
    }
}

/// The REST API fuzzed from its own OpenAPI document by schemathesis against a live devnet with
/// the template subnets: generated valid and invalid requests to every route (examples, coverage,
/// fuzzing) and chains of requests along the document's links (stateful), with every check but
/// `positive_data_acceptance` (no JSON Schema can say which base58 strings carry a valid SS58
/// checksum, so schema-valid addresses are rightly refused). Zero failures: no 5xx, no response
/// off its schema or with an undocumented status, no schema-violating request accepted.
/// `/v1/events` is left out: a stream does not end, so it has nothing for a response check.
#[test]
fn the_rest_api_holds_to_its_openapi_under_schemathesis() {
    let Some(schemathesis) = external_tool("TENSORCHAIN_SCHEMATHESIS", "schemathesis") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = up_with(tmp.path(), &["--validators", "1"]);
    // The template subnets' first epochs: subnets, neurons, weights and bonds exist to be linked to.
    wait_for_height(&d, 25);
    let out = Command::new(&schemathesis)
        .arg("run")
        .arg(format!("{}/openapi.json", d.url))
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        .args(["--exclude-path", "/v1/events"])
        // One worker: hypothesis' lambda-source cache is not thread-safe (runtime errors with 2).
        .args(["--workers", "1", "--max-examples", "50", "--seed", "1"])
        .args(["--generation-database", "none", "--no-color"])
        .current_dir(tmp.path())
        .output()
        .expect("running schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for phase in ["Examples", "Coverage", "Fuzzing", "Stateful"] {
        assert!(
            report.contains(&format!("✅ {phase}")),
            "phase {phase} did not pass:\n{report}"
        );
    }
}

/// The incentive column of a subnet and the uid of each template miner strategy in it.
fn incentives(d: &Devnet, netuid: u16) -> (Vec<f64>, Vec<String>) {
    let m = get(&format!(
        "{}/v1/subnets/{netuid}/metagraph?fields=hotkey,incentive",
        d.url
    ))["data"]
        .clone();
    let inc = m["incentive"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let hotkeys = m["hotkey"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect();
    (inc, hotkeys)
}

/// Whether `devnet up`'s template setup has registered all it registers (cli/src/template.rs):
/// on each subnet two validators (bob's and charlie's dev hotkeys on subnet 1, hotkeys of their
/// own on subnet 2) and a miner of each strategy.
fn template_neurons_registered(d: &Devnet) -> bool {
    [1u16, 2].into_iter().all(|netuid| {
        let Some(m) = try_get(&format!(
            "{}/v1/subnets/{netuid}/metagraph?fields=hotkey",
            d.url
        )) else {
            return false;
        };
        let registered = |hotkey: String| {
            m["data"]["hotkey"]
                .as_array()
                .is_some_and(|l| l.iter().any(|h| *h == hotkey))
        };
        let validators = ["bob", "charlie"].map(|name| {
            let key = if netuid == 1 {
                tensorchain_genesis::dev_hotkey(name)
            } else {
                Keypair::dev(&format!("template/sn{netuid}/validator/{name}"))
            };
            key.account().to_string()
        });
        validators.into_iter().all(registered)
            && STRATEGIES
                .iter()
                .all(|s| registered(template_miner(netuid, s.name())))
    })
}

fn template_miner(netuid: u16, strategy: &str) -> String {
    Keypair::dev(&format!("template/sn{netuid}/{strategy}"))
        .account()
        .to_string()
}

#[test]
fn template_subnets_pay_what_their_validators_reward() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let d = up_with(dir.path(), &[]);
    // Registering burns the subnet's current price and raises it by 26%, and `subnet
    // register` offers the price it reads as its maximum. Registering as soon as subnet 2
    // existed raced the template setup's own registrations: when one of those landed first,
    // ours failed with `registration_cost_exceeds_max` (now and then). Wait for the setup.
    wait_until(
        Duration::from_secs(60),
        "the template subnets are set up",
        || template_neurons_registered(&d),
    );

    // Subnet 1 hides weights until the next epoch: its validators commit, then reveal.
    let (ok, set) = cli(
        &d,
        &home,
        &[
            "subnet",
            "set",
            "--netuid",
            "1",
            "--name",
            "commit_reveal_enabled",
            "--value",
            "1",
            "--uri",
            "alice",
        ],
    );
    assert!(ok, "{set}");

    // One more miner, as a person would start it (docs/subnets.md): eve's hotkey, quick, on the
    // speed subnet; and one more validator (dave) on the quality subnet for a few rounds.
    for (netuid, who) in [("2", "eve"), ("1", "dave")] {
        let (ok, reg) = cli(
            &d,
            &home,
            &["subnet", "register", "--netuid", netuid, "--uri", who],
        );
        assert!(ok, "{reg}");
    }
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(["subnet", "template", "run", "--json", "--network", &d.url])
            .args(args)
            .env("TENSORCHAIN_HOME", &home)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut extra_miner = Killed(run(&[
        "--netuid",
        "2",
        "--role",
        "miner",
        "--strategy",
        "quick",
        "--uri",
        "eve",
    ]));
    // Kept open to the end: the miner prints its standing as it changes.
    let mut miner_out = BufReader::new(extra_miner.0.stdout.take().unwrap());
    let mut line = String::new();
    miner_out.read_line(&mut line).unwrap();
    let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(started["strategy"], "quick");
    assert_eq!(started["objective"], "speed");
    let mut extra_validator = Killed(run(&[
        "--netuid",
        "1",
        "--role",
        "validator",
        "--uri",
        "dave",
        "--rounds",
        "20",
    ]));

    // Incentive follows each subnet's objective: the careful (accurate) miner leads subnet 1,
    // the quick ones lead subnet 2, and the cheaters earn nothing on either.
    let eve = tensorchain_genesis::dev_hotkey("eve").account().to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = String::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "incentives did not settle in 120 s: {last}"
        );
        std::thread::sleep(Duration::from_millis(500));
        let of = |(inc, hk): &(Vec<f64>, Vec<String>), who: &str| -> f64 {
            hk.iter().position(|h| *h == who).map_or(-1.0, |u| inc[u])
        };
        let (q, s) = (incentives(&d, 1), incentives(&d, 2));
        let inc = |netuid: u16, strategy: &str| {
            let m = if netuid == 1 { &q } else { &s };
            of(m, &template_miner(netuid, strategy))
        };
        let cheaters: Vec<f64> = [1, 2]
            .iter()
            .flat_map(|n| ["wrong", "copy", "offline"].map(|st| inc(*n, st)))
            .collect();
        let extra = of(&s, &eve);
        last = format!(
            "subnet 1: careful {} quick {}; subnet 2: quick {} careful {} eve {}; cheaters {cheaters:?}",
            inc(1, "careful"),
            inc(1, "quick"),
            inc(2, "quick"),
            inc(2, "careful"),
            extra
        );
        if inc(1, "careful") > inc(1, "quick")
            && inc(1, "quick") > 0.0
            && inc(2, "quick") > inc(2, "careful")
            && extra > inc(2, "careful")
            && inc(2, "careful") > 0.0
            && cheaters.iter().all(|c| (0.0..0.01).contains(c))
        {
            break;
        }
    }
    println!("{last}");
    // The miner saw itself climb: a standing with incentive above zero.
    let climbed = miner_out.lines().map_while(Result::ok).find_map(|l| {
        let v: Value = serde_json::from_str(&l).ok()?;
        (v["incentive"].as_f64()? > 0.0).then_some(v)
    });
    assert!(
        climbed.is_some(),
        "the extra miner never printed a standing above zero"
    );

    // The extra validator committed and revealed weights in its rounds and never hit the rate
    // limit.
    let mut out = String::new();
    extra_validator
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let summary: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("validator printed {out:?}: {e}"));
    assert_eq!(summary["weights"]["rate_limited"], 0, "{summary}");
    assert!(
        summary["weights"]["committed"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    assert!(
        summary["weights"]["revealed"].as_u64().unwrap() >= 1,
        "{summary}"
    );
}

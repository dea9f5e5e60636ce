//! The explorer in a real browser: a devnet with its demo subnet, and `explorer-tests/e2e.mjs`
//! driving Debian's Chromium through playwright-core over every page. It checks what the pages
//! show against the REST API (the head advancing without a reload, the metagraph's n rows, a
//! transfer made by the CLI on the account page within two blocks) and saves a screenshot of each
//! page (into `docs/explorer/` with `TENSORCHAIN_UPDATE_SCREENSHOTS=1`, else a temporary dir). The browser reads a full node that rate-limits loopback like any
//! remote client, so the explorer is shown to live within one client's request budget.
//! `./scripts/test` installs Chromium and playwright-core (and then requires them); run alone
//! without Chromium or Node.js, the test says so and passes.

mod support;
use support::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Debian's Chromium, where `apt-get install chromium` puts it (or `$CHROMIUM`).
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Node.js 20 or later, which playwright-core needs.
fn has_node() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let v = String::from_utf8_lossy(&o.stdout).into_owned();
            v.trim()
                .trim_start_matches('v')
                .split('.')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .is_some_and(|major| major >= 20)
}

/// Epochs of the demo subnet that paid miners, so the emission chart and the metagraph have data.
fn paid_epochs(url: &str) -> usize {
    try_get(&format!("{url}/v1/subnets/1/epochs"))
        .and_then(|v| {
            v["data"]["items"]
                .as_array()
                .map(|l| l.iter().filter(|e| e["to_miners"] != "0").count())
        })
        .unwrap_or(0)
}

#[test]
fn the_explorer_shows_the_chain_live_in_a_real_browser() {
    if !chromium().exists() || !has_node() {
        let why = format!(
            "the explorer's browser test needs Chromium at {} and Node.js 20+ \
             (./scripts/test installs them: apt-get install chromium nodejs)",
            chromium().display()
        );
        // `scripts/test` installed them: missing there is a failure, not a silent skip.
        assert!(
            std::env::var_os("TENSORCHAIN_REQUIRE_TOOLS").is_none(),
            "{why}"
        );
        println!("SKIPPED {why}");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ sits in the workspace");
    let tests = root.join("explorer-tests");
    assert!(
        tests.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci --prefix explorer-tests` (./scripts/test does)"
    );

    let dir = tempfile::tempdir().unwrap();
    let d = up_with(dir.path(), &[]);
    // `devnet status` names each node's explorer beside its REST URL, and it answers there.
    let status = devnet_status(&d.dir);
    let explorer = format!("{}/explorer/", d.url);
    assert_eq!(status["nodes"][0]["explorer_url"], explorer.as_str());
    let page = ureq::get(&explorer).call().unwrap();
    assert_eq!(page.content_type(), "text/html");
    // Three paid epochs: about 20 s of 500 ms blocks after the demo has set its subnet up.
    let deadline = Instant::now() + Duration::from_secs(120);
    while paid_epochs(&d.url) < 3 {
        assert!(
            Instant::now() < deadline,
            "the demo subnet paid fewer than 3 epochs in 120 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // The browser talks to a full node that rate-limits loopback as it would any remote client
    // (100 cost units a second): the explorer must live within a client's budget.
    let node = full_node(&d, &dir.path().join("full"), &["--rpc-limit-loopback"]);

    // The committed screenshots are remade on request only, so a test run leaves the tree clean.
    let shots = if std::env::var_os("TENSORCHAIN_UPDATE_SCREENSHOTS").is_some() {
        root.join("docs/explorer")
    } else {
        dir.path().join("screenshots")
    };
    std::fs::create_dir_all(&shots).unwrap();
    let started = Instant::now();
    let out = Command::new("node")
        .arg(tests.join("e2e.mjs"))
        .arg("--url")
        .arg(&node.url)
        .arg("--bin")
        .arg(BIN)
        .arg("--home")
        .arg(dir.path().join("home"))
        .arg("--out")
        .arg(&shots)
        .arg("--chromium")
        .arg(chromium())
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "{stdout}{stderr}browser run: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "the explorer's browser test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
}

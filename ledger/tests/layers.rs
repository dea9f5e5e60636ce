//! The ledger is layered one way (lib.rs, docs/architecture.md): a module may use its own layer
//! and the layers below, never one above. This reads the sources, so a new upward `use` fails here
//! with the file and the line, before it turns into a module cycle.

use std::path::{Path, PathBuf};

/// Bottom to top.
const LAYERS: [&str; 5] = ["storage", "state", "runtime", "verify", "chain"];

/// The runtime's modules, bottom to top: each may use those before it, never one after.
const RUNTIME: [&str; 11] = [
    "params",
    "error",
    "event",
    "balances",
    "staking",
    "unbonding",
    "subnets",
    "validators",
    "wallet",
    "faucet",
    "mod",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer and (inside runtime) the module a path under `src/` belongs to.
fn place(rel: &str) -> (usize, Option<usize>) {
    let first = rel.split('/').next().unwrap().trim_end_matches(".rs");
    let layer = LAYERS.iter().position(|l| *l == first);
    let layer = layer.unwrap_or_else(|| panic!("{rel} is in no layer: add it to LAYERS"));
    let module = (first == "runtime").then(|| {
        let second = rel
            .split('/')
            .nth(1)
            .unwrap_or("mod")
            .trim_end_matches(".rs");
        RUNTIME
            .iter()
            .position(|m| *m == second)
            .unwrap_or_else(|| panic!("{rel}: add runtime module {second} to RUNTIME"))
    });
    (layer, module)
}

/// Every `crate::a[::b]` path in a line of code (comments skipped), as (a, b).
fn crate_paths(line: &str) -> Vec<(String, Option<String>)> {
    let code = line.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let seg = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        let a = seg(rest);
        let b = rest[a.len()..].strip_prefix("::").map(seg);
        out.push((a, b));
    }
    out
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "lib.rs" {
            continue;
        }
        let (layer, module) = place(&rel);
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for (a, b) in crate_paths(line) {
                let Some(target) = LAYERS.iter().position(|l| *l == a) else {
                    // Re-exports at the crate root (`crate::reward`) are external crates.
                    continue;
                };
                let upward = target > layer
                    || (target == layer && a == "runtime" && {
                        let m = b.as_deref().unwrap_or("mod");
                        let t = RUNTIME
                            .iter()
                            .position(|r| *r == m)
                            .unwrap_or(RUNTIME.len() - 1);
                        module.is_some_and(|own| t > own)
                    });
                if upward {
                    violations.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "uses of a higher layer or runtime module:\n{}",
        violations.join("\n")
    );
}

# Sourced by the other scripts: makes sure the build's system packages are present.
# RocksDB's bindings need libclang; the bundled RocksDB needs a C++ compiler.
ensure_deps() {
    local missing=()
    command -v cargo >/dev/null || { echo "cargo is not installed: see https://rustup.rs" >&2; exit 1; }
    ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so' || missing+=(libclang-dev)
    command -v c++ >/dev/null || missing+=(g++)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]} (needed to build RocksDB)..." >&2
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# rustfmt and clippy (scripts/test's first steps), from rustup when the toolchain lacks them.
ensure_lint_tools() {
    local missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    if [ ${#missing[@]} -gt 0 ]; then
        command -v rustup >/dev/null \
            || { echo "${missing[*]} missing and no rustup to add them: see https://rustup.rs" >&2; exit 1; }
        echo "adding ${missing[*]} to the toolchain (rustup component add)..." >&2
        rustup component add "${missing[@]}"
    fi
}

# The REST API's OpenAPI fuzzer (cli/tests/devnet.rs runs it against a live devnet), pinned, in a
# virtualenv kept between runs. Exports TENSORCHAIN_SCHEMATHESIS for the test.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
    local venv="${TENSORCHAIN_TOOLS:-$HOME/.cache/tensorchain-tools}/schemathesis-$SCHEMATHESIS_VERSION"
    if [ ! -x "$venv/bin/schemathesis" ]; then
        echo "installing schemathesis $SCHEMATHESIS_VERSION (REST API fuzzing) into $venv..." >&2
        rm -rf "$venv"
        python3 -m venv "$venv" && "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" >&2 \
            || { echo "could not install schemathesis; its test will fail" >&2; rm -rf "$venv"; return 0; }
    fi
    export TENSORCHAIN_SCHEMATHESIS="$venv/bin/schemathesis"
}

# The explorer's browser test (cli/tests/explorer.rs) drives Debian's Chromium with the pinned
# playwright-core from explorer-tests/ (which never downloads browsers of its own). Each step is
# skipped when already done, so a second run installs nothing.
ensure_browser_test_deps() {
    local missing=() sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]} (for the explorer's browser test)..." >&2
        $sudo apt-get update -qq && $sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    local want have
    want=$(node -p 'require("./explorer-tests/package.json").dependencies["playwright-core"]')
    have=$(node -p 'try { require("./explorer-tests/node_modules/playwright-core/package.json").version } catch { "" }')
    if [ "$want" != "$have" ]; then
        echo "installing playwright-core $want into explorer-tests/ (npm ci)..." >&2
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix explorer-tests --no-audit --no-fund >/dev/null
    fi
}

# cargo-fuzz (scripts/fuzz), pinned, installed into a cache dir of its own rather than ~/.cargo.
# Exports CARGO_FUZZ, the binary to run.
CARGO_FUZZ_VERSION=0.13.2
ensure_cargo_fuzz() {
    local root="${TENSORCHAIN_TOOLS:-$HOME/.cache/tensorchain-tools}/cargo-fuzz-$CARGO_FUZZ_VERSION"
    if [ ! -x "$root/bin/cargo-fuzz" ]; then
        echo "installing cargo-fuzz $CARGO_FUZZ_VERSION into $root..." >&2
        # Its own target dir: the install must not share (or lock) the project's build cache.
        CARGO_TARGET_DIR="$root/build" nice cargo install cargo-fuzz --locked \
            --version "$CARGO_FUZZ_VERSION" --root "$root" >&2 || { rm -rf "$root"; return 1; }
        rm -rf "$root/build"
    fi
    export CARGO_FUZZ="$root/bin/cargo-fuzz"
}

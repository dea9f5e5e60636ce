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

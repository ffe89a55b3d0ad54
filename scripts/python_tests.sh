#!/usr/bin/env bash
# The Python package's tests: build `ember` into a fresh venv (`pip install ./python`: maturin
# runs Cargo), then run python/tests with pytest against the release CLI, the second method
# every test compares with. Torch tests run only where torch is installed (not in this venv).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --bin ember # the CLI the tests compare with (built already after `cargo test --release`)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check ./python pytest numpy
EMBER_BIN="$target/release/ember" "$tmp/venv/bin/python" -m pytest python/tests -q \
    -p no:cacheprovider --basetemp "$tmp/pytest"

#!/usr/bin/env bash
# The test command (README, .ci/run): installs the system packages the tests drive
# when they are missing, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v git-lfs >/dev/null 2>&1 || need+=(git-lfs)
[ -x /usr/bin/time ] || need+=(time) # GNU time: peak RSS of the filter in tests/git_large.rs
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing system packages: ${need[*]} (install them, or run as root)" >&2
    exit 1
  fi
fi

# Import circles and layering (tools/check-structure.py lists the rules), the CLI
# rule (no gadn::store in src/cli/: it calls vcs and ops) included.
STRICT_CLI="${STRICT_CLI:-1}" tools/check-structure.sh

# Quality gates: formatting and lints, as CI enforces them.
cargo fmt --all --check
cargo clippy --all-targets -- -D warnings
# Dependency advisories, licences and bans (deny.toml), where cargo-deny is installed.
if cargo deny --version >/dev/null 2>&1; then
  # Bans, licences and sources need nothing from the network.
  cargo deny check bans licenses sources
  # Advisories need the RustSec database: checked strictly when it can be fetched,
  # skipped with a warning on a machine that cannot reach GitHub.
  if cargo deny fetch >/dev/null 2>&1; then
    cargo deny check advisories
  else
    echo "cargo-deny: the advisory database cannot be fetched here: skipping the advisories check" >&2
  fi
else
  echo "cargo-deny not installed: skipping the dependency check (cargo install --locked cargo-deny)" >&2
fi

cargo test --all-targets "$@"
# --all-targets leaves out doctests; the examples in the docs must work too.
cargo test --doc "$@"
# The library without the CLI, sync, previews or the Git side (Cargo features): what a
# user embedding only the store and version control builds. Its own tests must pass.
if [ $# -eq 0 ]; then
  cargo test --no-default-features --lib
  cargo test --no-default-features --doc
fi

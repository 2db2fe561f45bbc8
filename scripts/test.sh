#!/usr/bin/env bash
# The test suite, as README.md and CI run it: installs what the tests need (tansu, the
# Kafka broker the Kafka tests start on loopback; built once, about 15 minutes on 2
# cores), then runs every test of the workspace. Extra arguments go to `cargo test`.
#
# REPRISE_KAFKA_TESTS=skip runs without the broker (the Kafka tests say they are skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export REPRISE_KAFKA_TESTS=${REPRISE_KAFKA_TESTS:-require}
if [ "$REPRISE_KAFKA_TESTS" = require ]; then
  scripts/install-tansu.sh
fi
cargo test --workspace --release --locked "$@"

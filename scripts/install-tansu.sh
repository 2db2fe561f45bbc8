#!/usr/bin/env bash
# Installs tansu 0.6, a Kafka-protocol broker, which the Kafka tests start on loopback.
# It builds from crates.io with its storage engines (about 15 minutes on 2 cores), once:
# an installed tansu 0.6.0 is kept.
set -euo pipefail
if command -v tansu > /dev/null 2>&1 && tansu --version 2> /dev/null | grep -qx 'tansu 0.6.0'; then
  echo "tansu 0.6.0 is installed: $(command -v tansu)"
  exit 0
fi
cargo install tansu --version 0.6.0 --locked --features dynostore,libsql

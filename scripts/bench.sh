#!/usr/bin/env bash
# The standard comparison, written to a dated folder under bench-results/.
#
#   scripts/bench.sh run [EVENTS] [REPEAT]   every workload, 1 and 2 workers, recording off and
#                                            on, with the hand-written baselines (reprise compare)
#   scripts/bench.sh micro                   the criterion micro-benchmarks
#
# Every run happens in a fresh process and its digest is checked against the baseline's
# before its number counts; bench-results/<date>/README.md says what the numbers mean.
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-run}
case "$cmd" in
  run)
    events=${2:-10000000}
    repeat=${3:-3}
    cargo build --release --locked --quiet
    workloads=$(target/release/reprise list --format json |
      python3 -c 'import json,sys; print(" ".join(w["name"] for w in json.load(sys.stdin)))')
    dir="bench-results/$(date -u +%Y-%m-%d)-$(nproc)cpu"
    # shellcheck disable=SC2086
    target/release/reprise compare $workloads --events "$events" --workers 1,2 --record off,on \
      --repeat "$repeat" --baseline -o "$dir"
    ;;
  micro)
    cargo bench --locked -p reprise-benches
    ;;
  *)
    echo "usage: scripts/bench.sh run [EVENTS] [REPEAT] | micro" >&2
    exit 2
    ;;
esac

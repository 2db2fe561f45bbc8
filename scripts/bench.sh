#!/usr/bin/env bash
# The standard comparison, written to a dated folder under bench-results/.
#
#   scripts/bench.sh run [EVENTS] [REPEAT]   every workload, 1 and 2 workers, recording off and
#                                            on, with the hand-written baselines (reprise compare)
#   scripts/bench.sh compare REV_A REV_B [EVENTS] [REPEAT]
#                                            the same comparison across two git revisions:
#                                            each built in its own worktree and target
#                                            directory, every workload both have, verdicts
#                                            of REV_B against REV_A (reprise compare --build)
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
  compare)
    rev_a=${2:?usage: scripts/bench.sh compare REV_A REV_B [EVENTS] [REPEAT]}
    rev_b=${3:?usage: scripts/bench.sh compare REV_A REV_B [EVENTS] [REPEAT]}
    events=${4:-10000000}
    repeat=${5:-5}
    cargo build --release --locked --quiet
    builds=()
    lists=()
    for rev in "$rev_a" "$rev_b"; do
      sha=$(git rev-parse --short "$rev^{commit}")
      tree="$PWD/target/bench-worktrees/$sha"
      [ -d "$tree" ] || git worktree add --detach "$tree" "$sha" > /dev/null
      echo "building $rev ($sha) in $tree" >&2
      (cd "$tree" && CARGO_TARGET_DIR="$tree/target" cargo build --release --locked --quiet)
      builds+=(--build "$rev=$tree/target/release/reprise")
      list=$(mktemp)
      "$tree/target/release/reprise" list --format json |
        python3 -c 'import json,sys; print("\n".join(sorted(w["name"] for w in json.load(sys.stdin))))' > "$list"
      lists+=("$list")
    done
    workloads=$(comm -12 "${lists[0]}" "${lists[1]}" | tr '\n' ' ')
    rm -f "${lists[@]}"
    dir="bench-results/$(date -u +%Y-%m-%d)-$(nproc)cpu-${rev_a//\//-}-vs-${rev_b//\//-}"
    # shellcheck disable=SC2086
    target/release/reprise compare $workloads --events "$events" --workers 1,2 \
      --repeat "$repeat" "${builds[@]}" -o "$dir"
    ;;
  micro)
    cargo bench --locked -p reprise-benches
    ;;
  *)
    echo "usage: scripts/bench.sh run [EVENTS] [REPEAT] | compare REV_A REV_B [EVENTS] [REPEAT] | micro" >&2
    exit 2
    ;;
esac

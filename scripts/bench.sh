#!/usr/bin/env bash
# Whole-workload throughput, engine against baseline, side by side in one run.
#
#   scripts/bench.sh run [EVENTS]   every workload at 1 and 2 workers with --check baseline;
#                                   writes bench-results/<date>/results.jsonl and summary.md
#   scripts/bench.sh micro          the criterion micro-benchmarks (generators, digest, window)
#
# Every run checks its digest against the hand-written baseline before its number counts.
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-run}
case "$cmd" in
  run)
    events=${2:-10000000}
    cargo build --release --locked --quiet
    dir="bench-results/$(date -u +%Y-%m-%d)"
    mkdir -p "$dir"
    out="$dir/results.jsonl"
    : > "$out"
    for workload in $(target/release/reprise list --format json | python3 -c 'import json,sys; print(" ".join(w["name"] for w in json.load(sys.stdin)))'); do
      for workers in 1 2; do
        echo "== $workload, $workers workers, $events events" >&2
        target/release/reprise run "$workload" --events "$events" --workers "$workers" \
          --check baseline --format json --quiet >> "$out"
      done
    done
    python3 - "$out" "$events" > "$dir/summary.md" <<'PY'
import json, sys, platform, os, subprocess
rows = [json.loads(l) for l in open(sys.argv[1])]
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"# Throughput, {sys.argv[2]} events per run\n")
print(f"git {rev}, {os.cpu_count()} CPUs, {platform.machine()}; command: `scripts/bench.sh run {sys.argv[2]}`\n")
print("| workload | workers | engine events/s | baseline events/s | engine / baseline | p50 / p99 epoch latency | peak memory | digest matches baseline |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    c = r["check"]
    print(f"| {r['workload']} | {r['workers']} | {r['events_per_sec']/1e6:.2f}M | {c['baseline_events_per_sec']/1e6:.2f}M | "
          f"{r['events_per_sec']/c['baseline_events_per_sec']:.2f} | {r['latency_p50_ms']:.1f} / {r['latency_p99_ms']:.1f} ms | "
          f"{(r['peak_memory_bytes'] or 0)/2**20:.0f} MiB | {c['matches']} |")
PY
    cat "$dir/summary.md"
    ;;
  micro)
    cargo bench --locked -p reprise-benches
    ;;
  *)
    echo "usage: scripts/bench.sh run [EVENTS] | micro" >&2
    exit 2
    ;;
esac

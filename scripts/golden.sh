#!/usr/bin/env bash
# Records the golden input logs in tests/golden/ that do not exist yet.
#
#   scripts/golden.sh            record the missing logs (never overwrites one)
#
# A golden log is a regression test: `cargo test` replays every log in tests/golden/ on
# 1 and 3 workers and fails at the first epoch whose digest differs from the recording.
# Never re-record an existing log to make that test pass: if a change of results is
# deliberate, `reprise replay tests/golden/NAME.rlog --bless` rewrites its digests (and
# only those), and the diff of the log shows the change in review.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet -p reprise-workloads --features reprise-cli/test-hooks
reprise=target/release/reprise
golden=tests/golden
mkdir -p "$golden"

record() { # NAME ARGS...
  local name=$1; shift
  local log="$golden/$name.rlog"
  if [ -e "$log" ]; then
    echo "kept     $log (golden logs are never re-recorded)"
    return
  fi
  # --record-full: a golden log keeps its events, so it replays whatever becomes of the
  # generator that made them.
  "$@" --record "$log" --record-full --quiet > /dev/null 2>&1 || true
  echo "recorded $log ($(wc -c < "$log") bytes)"
}

small() { # the parameters of tests/common: many windows in a few thousand events
  case $1 in
    filter-count) echo "-p rate=5000 -p window_ms=100 -p partitions=7 -p ids=1000" ;;
    traffic-share) echo "-p rate=5000 -p window_ms=100 -p hosts=200" ;;
    user-visits) echo "-p rate=2 -p window_ms=60000 -p users=300" ;;
    wordcount) echo "-p rate=2000 -p window_ms=100 -p vocabulary=300" ;;
    nexmark-*) echo "-p rate=1000" ;;
  esac
}

# shellcheck disable=SC2046
record filter-count-2w-20ms-raw "$reprise" run filter-count --events 4000 --seed 11 --workers 2 --epoch-ms 20 --no-compress $(small filter-count)
# shellcheck disable=SC2046
record traffic-share-3w-50ms "$reprise" run traffic-share --events 4000 --seed 12 --workers 3 --epoch-ms 50 $(small traffic-share)
# shellcheck disable=SC2046
record user-visits-2w-10s "$reprise" run user-visits --events 3000 --seed 13 --workers 2 --epoch-ms 10000 $(small user-visits)
# shellcheck disable=SC2046
record wordcount-4w-25ms "$reprise" run wordcount --events 3000 --seed 14 --workers 4 --epoch-ms 25 $(small wordcount)
# shellcheck disable=SC2046
record nexmark-q0-2w-20ms "$reprise" run nexmark-q0 --events 1500 --seed 21 --workers 2 --epoch-ms 20 $(small nexmark-q0)
# shellcheck disable=SC2046
record nexmark-q1-3w-50ms "$reprise" run nexmark-q1 --events 1500 --seed 22 --workers 3 --epoch-ms 50 $(small nexmark-q1)
# shellcheck disable=SC2046
record nexmark-q2-2w-10ms "$reprise" run nexmark-q2 --events 2500 --seed 23 --workers 2 --epoch-ms 10 $(small nexmark-q2) -p modulus=7
# shellcheck disable=SC2046
record nexmark-q3-2w-100ms "$reprise" run nexmark-q3 --events 5000 --seed 24 --workers 2 --epoch-ms 100 $(small nexmark-q3)
# shellcheck disable=SC2046
record nexmark-q5-3w-20ms "$reprise" run nexmark-q5 --events 3000 --seed 25 --workers 3 --epoch-ms 20 $(small nexmark-q0) -p window_ms=500 -p slide_ms=100
# q12 on the event clock (its processing-time runs are covered by the wordcount logs).
record nexmark-q12-2w-20ms "$reprise" run nexmark-q12 --events 3000 --seed 26 --workers 2 --epoch-ms 20 -p rate=1000 -p window_ms=200
record nexmark-q7-2w-20ms "$reprise" run nexmark-q7 --events 3000 --seed 27 --workers 2 --epoch-ms 20 -p rate=1000 -p window_ms=200
record nexmark-q8-2w-20ms "$reprise" run nexmark-q8 --events 3000 --seed 28 --workers 2 --epoch-ms 20 -p rate=1000 -p window_ms=1000
record nexmark-q11-3w-20ms "$reprise" run nexmark-q11 --events 3000 --seed 29 --workers 3 --epoch-ms 20 -p rate=1000 -p gap_ms=30
record nexmark-q4-2w-20ms "$reprise" run nexmark-q4 --events 3000 --seed 30 --workers 2 --epoch-ms 20 -p rate=1000
record nexmark-q6-3w-20ms "$reprise" run nexmark-q6 --events 3000 --seed 31 --workers 3 --epoch-ms 20 -p rate=1000
record nexmark-q9-2w-20ms "$reprise" run nexmark-q9 --events 3000 --seed 32 --workers 2 --epoch-ms 20 -p rate=1000
# q14 at 1 event per second (q14's own tests cover every hour of the day); with its
# output rows, so a replay that differs prints them.
record nexmark-q14-2w-10s "$reprise" run nexmark-q14 --events 2500 --seed 33 --workers 2 --epoch-ms 10000 -p rate=1 --record-output
record nexmark-q10-2w-10s "$reprise" run nexmark-q10 --events 3000 --seed 41 --workers 2 --epoch-ms 10000 -p rate=1
record nexmark-q13-2w-20ms "$reprise" run nexmark-q13 --events 3000 --seed 42 --workers 2 --epoch-ms 20 -p rate=1000 -p side_rows=1100
record nexmark-q20-3w-20ms "$reprise" run nexmark-q20 --events 3000 --seed 43 --workers 3 --epoch-ms 20 -p rate=1000
# The per-day queries, within one day (tests/baselines.rs stretches events over days).
record nexmark-q15-2w-10s "$reprise" run nexmark-q15 --events 3000 --seed 37 --workers 2 --epoch-ms 10000 -p rate=1
record nexmark-q16-3w-10s "$reprise" run nexmark-q16 --events 3000 --seed 38 --workers 3 --epoch-ms 10000 -p rate=1
record nexmark-q17-2w-20ms "$reprise" run nexmark-q17 --events 3000 --seed 39 --workers 2 --epoch-ms 20 -p rate=1000
record nexmark-q18-2w-20ms "$reprise" run nexmark-q18 --events 3000 --seed 36 --workers 2 --epoch-ms 20 -p rate=1000
record nexmark-q19-3w-20ms "$reprise" run nexmark-q19 --events 3000 --seed 40 --workers 3 --epoch-ms 20 -p rate=1000
record nexmark-q21-3w-20ms "$reprise" run nexmark-q21 --events 3000 --seed 34 --workers 3 --epoch-ms 20 -p rate=1000
record nexmark-q22-2w-20ms "$reprise" run nexmark-q22 --events 3000 --seed 35 --workers 2 --epoch-ms 20 -p rate=1000
# A run that ends in a (test-only, injected) worker panic: its complete epochs replay.
# shellcheck disable=SC2046
record wordcount-2w-panic "$reprise" run wordcount --events 3000 --seed 15 --workers 2 --epoch-ms 20 --inject-panic-at-epoch 40 $(small wordcount)
# Processing time, generated: many 1 ms epochs of arrival-time windows.
# shellcheck disable=SC2046
record wordcount-2w-processing "$reprise" run wordcount --events 10000 --seed 17 --workers 2 --clock processing --epoch-ms 1 -p window_ms=4 -p vocabulary=300
# Processing time from standard input: epochs come from the wall clock, only the log reproduces them.
if [ ! -e "$golden/wordcount-2w-processing-stdin.rlog" ]; then
  lines=$(mktemp --suffix=.csv)
  "$reprise" gen lines --events 3000 --seed 16 -o "$lines" -p vocabulary=300 2> /dev/null
  record wordcount-2w-processing-stdin "$reprise" run wordcount --input - --clock processing --epoch-ms 1 --workers 2 -p window_ms=5 < "$lines"
  rm -f "$lines"
fi
# Pinned cases of issue 16 (results that must not depend on how they were computed).
# Bids exactly one session gap apart, some ending on an epoch boundary: one session each.
if [ ! -e "$golden/nexmark-q11-gap-bounds-2w-10ms.rlog" ]; then
  bids=$(mktemp --suffix=.jsonl)
  for bidder in $(seq 1 60); do
    first=$((bidder * 37))
    for t in $first $((first + 30)) $((first + 61)); do # the gap, then one ms past it
      printf '%s {"Bid":{"auction":1000,"bidder":%s,"price":100,"channel":"Google","url":"u","date_time":%s,"extra":""}}\n' "$t" "$bidder" "$t"
    done
  done | sort -n -s -k1,1 | cut -d' ' -f2- > "$bids"
  record nexmark-q11-gap-bounds-2w-10ms "$reprise" run nexmark-q11 --input "$bids" --workers 2 --epoch-ms 10 -p gap_ms=30
  rm -f "$bids"
fi
# Event times just below the largest accepted (2^62 ms): windows there close correctly.
if [ ! -e "$golden/wordcount-2w-top-of-time.rlog" ]; then
  lines=$(mktemp --suffix=.csv)
  { echo "ts,text"; for i in $(seq 0 299); do echo "$((4611686018427387904 - 2990 + i * 10)),w$((i % 7)) w$((i % 3))"; done; } > "$lines"
  record wordcount-2w-top-of-time "$reprise" run wordcount --input "$lines" --workers 2 --epoch-ms 25 -p window_ms=100 -p lateness_ms=50
  rm -f "$lines"
fi
# A 2-process cluster under the processing clock: each record enters (and is logged) once.
if [ ! -e "$golden/wordcount-2p-processing.rlog" ]; then
  lines=$(mktemp --suffix=.csv)
  "$reprise" gen lines --events 3000 --seed 18 -o "$lines" -p vocabulary=300 2> /dev/null
  record wordcount-2p-processing "$reprise" cluster --processes 2 run wordcount --input "$lines" --clock processing --epoch-ms 1 --workers 1 -p window_ms=5
  rm -f "$lines"
fi
# Format version 2 (input checks per epoch, recording ids): a compressed single-process log
# and a 2-process cluster's, event time.
# shellcheck disable=SC2046
record nexmark-q5-2w-20ms-v2 "$reprise" run nexmark-q5 --events 3000 --seed 33 --workers 2 --epoch-ms 20 $(small nexmark-q5) -p window_ms=500 -p slide_ms=100
# shellcheck disable=SC2046
record traffic-share-2p-50ms-v2 "$reprise" cluster --processes 2 run traffic-share --events 4000 --seed 34 --workers 2 --epoch-ms 50 $(small traffic-share)
# Format version 3 (generated events checksummed in four states). Golden logs keep their
# events; tests/by-index/ keeps version-2 logs recorded by index, with their checksums.
# shellcheck disable=SC2046
record wordcount-3w-25ms-v3 "$reprise" run wordcount --events 3000 --seed 44 --workers 3 --epoch-ms 25 $(small wordcount)

#!/usr/bin/env bash
# Long crash soak: tests/crash.rs (SIGKILL under concurrent write load with
# durability=always, restart, every acknowledged write must be there) for many more
# cycles than the test suite runs.
#
#   benches/crash_soak.sh                  # one run of 500 cycles on one data directory
#   CYCLES=2000 benches/crash_soak.sh
#   MINUTES=60 benches/crash_soak.sh       # runs of $CYCLES cycles, each with a new seed,
#                                          # until 60 minutes have passed
#   SEED=1234 benches/crash_soak.sh        # replays the run a failure printed
#
# Stops at the first failure; the test output names the seed, the cycle and every key
# whose recovered value was not an acknowledged or in-flight one.
set -euo pipefail
cd "$(dirname "$0")/.."

CYCLES=${CYCLES:-500}
MINUTES=${MINUTES:-0}

# glommio locks memory for its io_uring rings; the default limit may be too low.
ulimit -l unlimited 2>/dev/null || ulimit -l 65536 2>/dev/null || true
cargo test --release --test crash --no-run --quiet

export MEMFLUX_CRASH_CYCLES=$CYCLES
[ -n "${SEED:-}" ] && export MEMFLUX_CRASH_SEED=$SEED

deadline=$(($(date +%s) + MINUTES * 60))
runs=0
while :; do
    runs=$((runs + 1))
    echo "crash_soak.sh: run $runs, $CYCLES cycles"
    cargo test --release --quiet --test crash -- --nocapture
    if [ "$MINUTES" -eq 0 ] || [ -n "${SEED:-}" ] || [ "$(date +%s)" -ge "$deadline" ]; then
        break
    fi
done
echo "crash_soak.sh: $runs run(s) of $CYCLES cycles passed"

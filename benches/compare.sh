#!/usr/bin/env bash
# Side-by-side throughput and tail latency: MemFlux against redis-server, with the same
# redis-benchmark runs against each.
#
#   benches/compare.sh                 # 3 repetitions, ~5 s per run
#   REPEAT=5 DURATION=10 benches/compare.sh
#
# What it does:
#   1. builds memflux in release mode;
#   2. starts memflux (--shards $SHARDS, --durability off, a temporary directory) and
#      redis-server (--save '' --appendonly no) on free ports: persistence off for both
#      (benches/durability.sh compares them with it on);
#   3. sizes each test so that one run lasts about $DURATION seconds (a short
#      calibration run against both servers; the faster one decides, and both get the
#      same request count);
#   4. runs every test against both servers, alternating the targets run by run and
#      the order in which they go first from one repetition to the next, $REPEAT times;
#   5. prints the median rps and p99 latency per test and server as a table, and writes
#      the same table as markdown to $OUT (default benches/results.md, overwritten).
#
# Tests (redis-benchmark defaults otherwise: 3-byte values, random keys from -r):
#   -t set  -P 1    -t get  -P 1    -t set  -P 16    -t get  -P 16    -t mset -P 1
#   all with -c $CLIENTS -r $KEYSPACE --csv; MSET is redis-benchmark's MSET of 10 keys.
#
# The load generator shares the machine with the server under test. redis-benchmark is
# single-threaded and is left unpinned (allowed on every CPU, even if this script was
# started with a narrower affinity), so it competes with the server for cores exactly
# like a client on the same host would: on a 2-core machine the numbers are a fair
# comparison between the two servers, not the absolute capacity of either.
#
# Environment:
#   REPEAT=3          repetitions of every run (medians are reported)
#   DURATION=5        target seconds per run
#   SHARDS=2          memflux --shards
#   PIN_CPUS=false    memflux --pin_cpus (pin shard N to CPU N)
#   MEMFLUX_CPUS=     optional taskset CPU list for the memflux process (e.g. 0-1)
#   REDIS_CPUS=       optional taskset CPU list for redis-server (e.g. 0)
#   CLIENTS=50        redis-benchmark -c
#   KEYSPACE=100000   redis-benchmark -r
#   MEMFLUX_PORT= REDIS_PORT=   fixed ports instead of free ones
#   OUT=benches/results.md
#   SUITE=strings     or `types`: LPUSH LPOP SADD HSET SPOP ZADD LRANGE_100 at -P 16 and
#                     the cross-shard MSET, written to benches/results-types.md
set -euo pipefail

cd "$(dirname "$0")/.."

REPEAT=${REPEAT:-3}
DURATION=${DURATION:-5}
SHARDS=${SHARDS:-2}
PIN_CPUS=${PIN_CPUS:-false}
MEMFLUX_CPUS=${MEMFLUX_CPUS:-}
REDIS_CPUS=${REDIS_CPUS:-}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
OUT=${OUT:-benches/results.md}

# SUITE=strings (default): the string commands. SUITE=types: the container types and
# the cross-shard MSET (whose 10 random keys land on both shards).
SUITE=${SUITE:-strings}
# name|redis-benchmark arguments|calibration request count
case "$SUITE" in
    strings)
        TESTS=(
            "SET -P 1|-t set -P 1|20000"
            "GET -P 1|-t get -P 1|20000"
            "SET -P 16|-t set -P 16|200000"
            "GET -P 16|-t get -P 16|200000"
            "MSET (10 keys) -P 1|-t mset -P 1|10000"
        )
        ;;
    types)
        OUT=${OUT_TYPES:-benches/results-types.md}
        TESTS=(
            "LPUSH -P 16|-t lpush -P 16|200000"
            "LPOP -P 16|-t lpop -P 16|200000"
            "SADD -P 16|-t sadd -P 16|200000"
            "HSET -P 16|-t hset -P 16|200000"
            "SPOP -P 16|-t spop -P 16|200000"
            "ZADD -P 16|-t zadd -P 16|200000"
            "LRANGE_100 -P 16|-t lrange_100 -P 16|50000"
            "MSET (10 keys) -P 1|-t mset -P 1|10000"
            "MSET (10 keys) -P 16|-t mset -P 16|50000"
        )
        ;;
    *) echo "compare.sh: SUITE must be strings or types" >&2; exit 2 ;;
esac

for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool is not installed (apt-get install redis-server redis-tools)" >&2; exit 1; }
done

NCPU=$(nproc --all 2>/dev/null || nproc)
# redis-benchmark may run on any CPU, whatever affinity this shell inherited.
if command -v taskset >/dev/null; then
    BENCH=(taskset -c "0-$((NCPU - 1))" redis-benchmark)
else
    BENCH=(redis-benchmark)
fi
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 20000))
        port_in_use "$p" || port_in_use "$((p + 10000))" || { echo "$p"; return; }
    done
}

echo "building memflux (release)..." >&2
cargo build --release --quiet --bin memflux
MEMFLUX_BIN=$PWD/target/release/memflux

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memflux-compare.XXXXXX")
MEMFLUX_PID=
REDIS_PID=
cleanup() {
    for pid in $MEMFLUX_PID $REDIS_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $MEMFLUX_PID $REDIS_PID; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

MEMFLUX_PORT=${MEMFLUX_PORT:-$(free_port)}
REDIS_PORT=${REDIS_PORT:-$(free_port)}
[ "$MEMFLUX_PORT" != "$REDIS_PORT" ] || REDIS_PORT=$(free_port)

mkdir -p "$WORK/memflux" "$WORK/redis"
MEMFLUX_CMD=("$MEMFLUX_BIN" --port "$MEMFLUX_PORT" --shards "$SHARDS" --pin_cpus "$PIN_CPUS"
    --dir "$WORK/memflux/shards" --log_level warn --durability off)
REDIS_CMD=(redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no
    --dir "$WORK/redis" --daemonize no)
[ -z "$MEMFLUX_CPUS" ] || MEMFLUX_CMD=(taskset -c "$MEMFLUX_CPUS" "${MEMFLUX_CMD[@]}")
[ -z "$REDIS_CPUS" ] || REDIS_CMD=(taskset -c "$REDIS_CPUS" "${REDIS_CMD[@]}")
# memflux writes its config.json into its working directory: keep that in $WORK too.
(cd "$WORK/memflux" && exec "${MEMFLUX_CMD[@]}") > "$WORK/memflux.log" 2>&1 &
MEMFLUX_PID=$!
(cd "$WORK/redis" && exec "${REDIS_CMD[@]}") > "$WORK/redis.log" 2>&1 &
REDIS_PID=$!

wait_up() { # wait_up NAME PORT PID
    local i
    for i in $(seq 200); do
        if [ "$(redis-cli -p "$2" PING 2>/dev/null)" = PONG ]; then return; fi
        if ! kill -0 "$3" 2>/dev/null; then break; fi
        sleep 0.05
    done
    echo "compare.sh: $1 did not start; its log:" >&2
    cat "$WORK/$1.log" >&2
    exit 1
}
wait_up memflux "$MEMFLUX_PORT" "$MEMFLUX_PID"
wait_up redis "$REDIS_PORT" "$REDIS_PID"

declare -A PORT=([memflux]=$MEMFLUX_PORT [redis]=$REDIS_PORT)
declare -A PID=([memflux]=$MEMFLUX_PID [redis]=$REDIS_PID)

# alive TARGET: stop everything when a server has died.
alive() {
    if ! kill -0 "${PID[$1]}" 2>/dev/null; then
        echo "compare.sh: $1 is not running any more; its log:" >&2
        cat "$WORK/$1.log" >&2
        exit 1
    fi
}

# run TARGET N ARGS...: one redis-benchmark run; prints "rps p99", or "n/a n/a" when the
# run fails (the reason goes to stderr).
run() {
    local target=$1 n=$2 out line
    shift 2
    # shellcheck disable=SC2068 # the test's arguments are meant to split
    if out=$("${BENCH[@]}" -p "${PORT[$target]}" -c "$CLIENTS" -r "$KEYSPACE" -n "$n" --csv $@ 2> "$WORK/bench.err"); then
        # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        line=$(printf '%s\n' "$out" | grep -v '^"test"' | tail -n 1 | tr -d '"')
        if [ -n "$line" ]; then
            printf '%s\n' "$line" | awk -F, '{ print $2, $7 }'
            return
        fi
    fi
    echo "compare.sh: redis-benchmark $* against $target failed: $(tr '\n' ' ' < "$WORK/bench.err")" >&2
    echo "n/a n/a"
}

whole() { awk -v v="$1" 'BEGIN { if (v == "n/a") print v; else printf "%.0f", v }'; }

median() { # median of the numbers given as arguments, "n/a" when any is missing
    local v
    for v in "$@"; do [ "$v" != n/a ] || { echo n/a; return; }; done
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# Size every test from a calibration run on each server; the same count goes to both.
declare -A N
for t in "${TESTS[@]}"; do
    IFS='|' read -r name args calib <<< "$t"
    best=0
    for target in memflux redis; do
        alive "$target"
        read -r rps _ <<< "$(run "$target" "$calib" $args)"
        [ "$rps" = n/a ] || best=$(awk -v a="$best" -v b="$rps" 'BEGIN { print (b > a) ? b : a }')
    done
    N[$name]=$(awk -v r="$best" -v d="$DURATION" -v c="$calib" 'BEGIN { n = int(r * d); print (n > c) ? n : c }')
    echo "$name: ${N[$name]} requests per run" >&2
done

declare -A RPS P99
for rep in $(seq "$REPEAT"); do
    if [ $((rep % 2)) -eq 1 ]; then order=(memflux redis); else order=(redis memflux); fi
    for t in "${TESTS[@]}"; do
        IFS='|' read -r name args _ <<< "$t"
        for target in "${order[@]}"; do
            alive "$target"
            read -r rps p99 <<< "$(run "$target" "${N[$name]}" $args)"
            RPS[$target,$name]+="$rps "
            P99[$target,$name]+="$p99 "
            echo "run $rep/$REPEAT  $name  $target: $rps rps, p99 $p99 ms" >&2
        done
    done
done

MEMFLUX_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
REDIS_VERSION=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)

{
    echo "# MemFlux vs Redis"
    echo
    echo "Generated by \`benches/compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'):" \
        "memflux ${MEMFLUX_REV} (--shards $SHARDS, --pin_cpus $PIN_CPUS), redis-server ${REDIS_VERSION}" \
        "(--save '' --appendonly no), $NCPU CPUs${CPU_MODEL:+ ($CPU_MODEL)}."
    echo "redis-benchmark -c $CLIENTS -r $KEYSPACE, about ${DURATION} s per run, median of $REPEAT runs;" \
        "the client runs on the same machine, unpinned."
    echo
    echo "| test | memflux rps | redis rps | ratio | memflux p99 (ms) | redis p99 (ms) |"
    echo "|---|---:|---:|---:|---:|---:|"
    for t in "${TESTS[@]}"; do
        IFS='|' read -r name _ _ <<< "$t"
        # shellcheck disable=SC2086 # the lists are space-separated numbers
        m_rps=$(median ${RPS[memflux,$name]})
        # shellcheck disable=SC2086
        r_rps=$(median ${RPS[redis,$name]})
        # shellcheck disable=SC2086
        m_p99=$(median ${P99[memflux,$name]})
        # shellcheck disable=SC2086
        r_p99=$(median ${P99[redis,$name]})
        ratio=$(awk -v a="$m_rps" -v b="$r_rps" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b }')
        echo "| $name | $(whole "$m_rps") | $(whole "$r_rps") | $ratio | $m_p99 | $r_p99 |"
    done
} > "$WORK/results.md"

mkdir -p "$(dirname "$OUT")"
cp "$WORK/results.md" "$OUT"
echo
column -t -s '|' < <(grep '^|' "$WORK/results.md" | grep -v '^|---' | sed 's/^| //; s/ |$//') 2>/dev/null \
    || grep '^|' "$WORK/results.md"
echo
echo "written to $OUT" >&2

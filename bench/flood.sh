#!/usr/bin/env bash
# Flood benchmark (issue 9): what a flood of distinct hostile client certificates does to the
# handler's memory and to allowlisted callers.
#
# Starts the release handler the way the Functions host does, with a CA, an allowlisted
# CA-signed client and the default header cap. Then two runs of $DURATION each:
#   1. quiet:  wrk sends the allowlisted (cached) certificate to /api/cert-info;
#   2. flood:  the same wrk run while examples/flood.rs, a separate process, sends distinct
#              self-signed certificates as large as the header cap allows (thousands of SANs,
#              or one large extension), every one new to the handler.
# It samples the handler's resident memory every 200 ms and prints a Markdown table: the
# allowlisted requests' rate and p50/p99 in both runs, their p99 ratio, the flood's request
# count and statuses, and the peak resident memory.
#
# Usage: bench/flood.sh                      (builds the release binary and the examples)
#        HANDLER_BIN=/path/to/handler bench/flood.sh    (measure another build, e.g. an older one)
# Knobs: DURATION=30 CONNECTIONS=10 FLOOD_CONNECTIONS=32 bench/flood.sh
# Only 127.0.0.1 receives traffic. Every loop is bounded; every process is killed on exit.
set -euo pipefail

DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-10}
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-32}
MAX_HEADER_BYTES=16384
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtls-handler-flood.XXXXXX")
PIDS=()

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# Samples VmRSS (kB) of pid $1 every 200 ms into file $2 until the file $3 exists (bounded).
sample_rss() {
    local pid=$1 out=$2 stop=$3 i
    for i in $(seq 1 3000); do
        [[ -e $stop ]] && return 0
        awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" >>"$out" 2>/dev/null || return 0
        sleep 0.2
    done
}

# run_wrk <url> <header-file>: prints "requests rps p50us p99us bad"
run_wrk() {
    local out result
    out=$(wrk -t1 -c "$CONNECTIONS" -d "${DURATION}s" --timeout 10s -s "$ROOT/bench/wrk.lua" \
        -H "X-ARR-ClientCert: $(cat "$2")" "$1")
    result=$(grep '^RESULT ' <<<"$out") || die "wrk gave no result: $out"
    read -r _ requests rps p50 p99 non2xx socket_errors <<<"$result"
    echo "$requests $rps $p50 $p99 $((non2xx + socket_errors))"
}

main() {
    command -v wrk >/dev/null || {
        log "installing wrk with apt"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    }
    log "building the release binary and the bench examples"
    (cd "$ROOT" && cargo build --release --quiet --bin handler --example bench_pki --example flood)
    local bin=${CARGO_TARGET_DIR:-$ROOT/target}/release
    local handler=${HANDLER_BIN:-$bin/handler}

    "$bin/examples/bench_pki" "$WORK/pki" 1 >/dev/null
    # shellcheck source=/dev/null
    source "$WORK/pki/bench.env"
    local pki=$WORK/pki port
    port=$(free_port)
    log "starting $handler on 127.0.0.1:$port"
    (cd "$ROOT" && exec env -i PATH="$PATH" \
        FUNCTIONS_WORKER_RUNTIME=custom FUNCTIONS_CUSTOMHANDLER_PORT="$port" \
        FUNCTIONS_APP_ROOT_PATH="$ROOT" RUST_LOG=warn LOG_FORMAT=json \
        CLIENT_CERT_TRUSTED_CA_PATHS="$pki/ca.pem" \
        ALLOWED_CLIENT_CERT_COMMON_NAMES="$CLIENT_CN" \
        "$handler") >"$WORK/handler.out" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    local url=http://127.0.0.1:$port/api/cert-info attempt status=""
    for attempt in $(seq 1 500); do
        status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
            -H "X-ARR-ClientCert: $(cat "$pki/client.b64")" "$url" || true)
        [[ $status == 200 ]] && break
        sleep 0.02
    done
    [[ $status == 200 ]] || die "the handler did not admit the allowlisted client: $(tail -3 "$WORK/handler.out")"
    local idle
    idle=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")

    log "quiet run: ${DURATION} s of the allowlisted certificate"
    sample_rss "$pid" "$WORK/rss-quiet" "$WORK/stop-quiet" &
    local sampler=$!
    local quiet
    quiet=$(run_wrk "$url" "$pki/client.b64")
    touch "$WORK/stop-quiet"
    wait "$sampler" || true

    log "flood run: the same, while examples/flood sends distinct hostile certificates"
    sample_rss "$pid" "$WORK/rss-flood" "$WORK/stop-flood" &
    sampler=$!
    "$bin/examples/flood" "$url" "$DURATION" "$FLOOD_CONNECTIONS" "$MAX_HEADER_BYTES" \
        >"$WORK/flood.out" 2>"$WORK/flood.err" &
    local flooder=$!
    PIDS+=("$flooder")
    local flooded
    flooded=$(run_wrk "$url" "$pki/client.b64")
    wait "$flooder" || die "the flooder failed: $(cat "$WORK/flood.err")"
    touch "$WORK/stop-flood"
    wait "$sampler" || true
    local hwm
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    kill -0 "$pid" 2>/dev/null || die "the handler died during the flood: $(tail -3 "$WORK/handler.out")"

    sed 's/^/  /' "$WORK/flood.err" >&2
    report "$quiet" "$flooded" "$(cat "$WORK/flood.out")" "$idle" "$hwm" \
        "$(sort -n "$WORK/rss-quiet" | tail -1)" "$(sort -n "$WORK/rss-flood" | tail -1)" "$handler"
}

report() {
    local quiet=$1 flooded=$2 flood=$3 idle=$4 hwm=$5 quiet_peak=$6 flood_peak=$7 handler=$8
    read -r q_req q_rps q_p50 q_p99 q_bad <<<"$quiet"
    read -r f_req f_rps f_p50 f_p99 f_bad <<<"$flooded"
    echo "handler: $handler; ${DURATION} s per run; allowlisted: wrk -t1 -c$CONNECTIONS;" \
        "flood: $FLOOD_CONNECTIONS connections, header cap $MAX_HEADER_BYTES B; $(nproc) cores"
    echo
    echo "| run | allowlisted rps | p50 ms | p99 ms | non-2xx | peak RSS MB |"
    echo "|---|---:|---:|---:|---:|---:|"
    awk -v r="$q_rps" -v a="$q_p50" -v b="$q_p99" -v bad="$q_bad" -v m="$quiet_peak" \
        'BEGIN { printf "| quiet | %d | %.2f | %.2f | %d | %.1f |\n", r, a/1000, b/1000, bad, m/1024 }'
    awk -v r="$f_rps" -v a="$f_p50" -v b="$f_p99" -v bad="$f_bad" -v m="$flood_peak" \
        'BEGIN { printf "| flood | %d | %.2f | %.2f | %d | %.1f |\n", r, a/1000, b/1000, bad, m/1024 }'
    echo
    awk -v q="$q_p99" -v f="$f_p99" -v idle="$idle" -v hwm="$hwm" -v flood="$flood" 'BEGIN {
        printf "- allowlisted p99 under flood / quiet: %.2f× (target: at most 3×)\n", (q > 0 ? f / q : 0)
        printf "- resident memory: %.1f MB idle after start, %.1f MB peak over both runs (VmHWM; target: under 64 MiB)\n", idle/1024, hwm/1024
        sub(/^FLOOD /, "", flood)
        printf "- flood: %s (requests, then count per status)\n", flood
    }'
}

main "$@"

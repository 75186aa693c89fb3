#!/usr/bin/env bash
# Flood benchmark: whether callers who should be served still are while a flood of distinct
# hostile client certificates arrives, and what the flood costs in memory and log lines.
#
# Starts the release handler the way the Functions host does, trusting two CAs (`handler
# dev`'s, whose client certificate is the cached caller, and bench_pki's rotating CA, whose
# certificates are the cold callers) and allowlisting both CNs. Then two runs of $DURATION s:
#   1. quiet: examples/flood's probe alone: one never-seen allowlisted certificate every
#      $COLD_EVERY_MS ms (a cold decision each: a new caller, or any caller after its decision
#      left the cache), and the cached caller from $CACHED_WORKERS workers every
#      $CACHED_EVERY_MS ms each, paced (latency counted from when a request was due);
#   2. flood: the same probe while $FLOOD_PROCESSES separate examples/flood processes keep
#      $FLOOD_CONNECTIONS keep-alive connections each busy with certificates the handler has
#      never seen: by default forgeries that name the rotating CA as issuer, with a new serial
#      and a signature that does not verify (FLOOD=forged); FLOOD=forged-allowlisted also uses
#      the allowlisted CN; FLOOD=oversize sends self-signed certificates at the header cap.
# It prints the two target figures first, then a table, peak memory, the flood's statuses and
# the handler's stderr lines (the log volume).
#
# Usage: bench/flood.sh                      (builds the release binary and the examples)
#        HANDLER_BIN=/path/to/handler bench/flood.sh    (measure another build, e.g. an older one)
# Knobs: DURATION=30 FLOOD=forged FLOOD_PROCESSES=2 FLOOD_CONNECTIONS=300 COLD_EVERY_MS=50
#        CACHED_WORKERS=4 CACHED_EVERY_MS=10 bench/flood.sh
# Only 127.0.0.1 receives traffic. Every loop is bounded; every process is killed on exit.
set -euo pipefail

DURATION=${DURATION:-30}
FLOOD=${FLOOD:-forged}
FLOOD_PROCESSES=${FLOOD_PROCESSES:-2}
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-300}
COLD_EVERY_MS=${COLD_EVERY_MS:-50}
CACHED_WORKERS=${CACHED_WORKERS:-4}
CACHED_EVERY_MS=${CACHED_EVERY_MS:-10}
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

# run_probe <url> <cold-lines-file> <label>: prints the PROBE line's fields after "PROBE"
run_probe() {
    local out
    out=$("$BIN/examples/flood" probe --url "$1" --seconds "$DURATION" --cold "$2" \
        --cold-every-ms "$COLD_EVERY_MS" --cached "$PKI/client.b64" \
        --cached-workers "$CACHED_WORKERS" --cached-every-ms "$CACHED_EVERY_MS") ||
        die "the $3 probe failed"
    grep '^PROBE ' <<<"$out" | sed 's/^PROBE //' || die "the $3 probe gave no result: $out"
}

flood_args() {
    case $FLOOD in
    forged) echo "--template $PKI/forged.der" ;;
    forged-allowlisted) echo "--template $PKI/forged-allowlisted.der" ;;
    oversize) echo "--oversize $MAX_HEADER_BYTES" ;;
    *) die "FLOOD is forged, forged-allowlisted or oversize, not $FLOOD" ;;
    esac
}

main() {
    log "building the release binary and the bench examples"
    (cd "$ROOT" && cargo build --release --quiet --bin handler --example bench_pki --example flood)
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
    local handler=${HANDLER_BIN:-$BIN/handler}
    [[ $FLOOD =~ ^(forged|forged-allowlisted|oversize)$ ]] ||
        die "FLOOD is forged, forged-allowlisted or oversize, not $FLOOD"

    # One never-seen certificate per cold request, in both runs, and a margin.
    local per_run=$((DURATION * 1000 / COLD_EVERY_MS + 10))
    "$BIN/examples/bench_pki" "$WORK/pki" $((2 * per_run)) >/dev/null
    PKI=$WORK/pki
    # shellcheck source=/dev/null
    source "$PKI/bench.env"
    head -n "$per_run" "$PKI/rotating.txt" >"$WORK/cold-quiet"
    tail -n "$per_run" "$PKI/rotating.txt" >"$WORK/cold-flood"
    local port
    port=$(free_port)
    log "starting $handler on 127.0.0.1:$port"
    (cd "$ROOT" && exec env -i PATH="$PATH" \
        FUNCTIONS_WORKER_RUNTIME=custom FUNCTIONS_CUSTOMHANDLER_PORT="$port" \
        FUNCTIONS_APP_ROOT_PATH="$ROOT" RUST_LOG=warn LOG_FORMAT=json \
        CLIENT_CERT_TRUSTED_CA_PATHS="$PKI/ca.pem,$PKI/rotating-ca.pem" \
        ALLOWED_CLIENT_CERT_COMMON_NAMES="$CLIENT_CN,$ROTATING_CN" \
        "$handler") >"$WORK/handler.out" 2>"$WORK/handler.err" &
    local pid=$!
    PIDS+=("$pid")
    local url=http://127.0.0.1:$port/api/cert-info status=""
    for _ in $(seq 1 500); do
        status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
            -H "X-ARR-ClientCert: $(cat "$PKI/client.b64")" "$url" || true)
        [[ $status == 200 ]] && break
        sleep 0.02
    done
    [[ $status == 200 ]] || die "the handler did not admit the allowlisted client: $(tail -3 "$WORK/handler.err")"
    local idle
    idle=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")

    log "quiet run: ${DURATION} s of the probe alone"
    sample_rss "$pid" "$WORK/rss-quiet" "$WORK/stop-quiet" &
    local sampler=$!
    local quiet
    quiet=$(run_probe "$url" "$WORK/cold-quiet" quiet)
    touch "$WORK/stop-quiet"
    wait "$sampler" || true
    local lines_before
    lines_before=$(wc -l <"$WORK/handler.err")

    log "flood run: the same probe while $FLOOD_PROCESSES flood processes send $FLOOD certificates"
    sample_rss "$pid" "$WORK/rss-flood" "$WORK/stop-flood" &
    sampler=$!
    local flooders=() i
    for i in $(seq 1 "$FLOOD_PROCESSES"); do
        # shellcheck disable=SC2046
        "$BIN/examples/flood" send --url "$url" --seconds "$DURATION" \
            --connections "$FLOOD_CONNECTIONS" $(flood_args) \
            >"$WORK/flood-$i.out" 2>"$WORK/flood-$i.err" &
        flooders+=($!)
        PIDS+=($!)
    done
    local flooded
    flooded=$(run_probe "$url" "$WORK/cold-flood" flood)
    for i in "${!flooders[@]}"; do
        wait "${flooders[$i]}" || die "flooder $((i + 1)) failed: $(cat "$WORK/flood-$((i + 1)).err")"
    done
    touch "$WORK/stop-flood"
    wait "$sampler" || true
    local lines_after hwm
    lines_after=$(wc -l <"$WORK/handler.err")
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    kill -0 "$pid" 2>/dev/null || die "the handler died during the flood: $(tail -3 "$WORK/handler.err")"

    sed 's/^/  /' "$WORK/flood-1.err" >&2
    report "$quiet" "$flooded" "$(cat "$WORK"/flood-*.out)" "$idle" "$hwm" \
        "$(sort -n "$WORK/rss-quiet" | tail -1)" "$(sort -n "$WORK/rss-flood" | tail -1)" \
        "$handler" $((lines_after - lines_before))
}

report() {
    local quiet=$1 flooded=$2 flood=$3 idle=$4 hwm=$5 quiet_peak=$6 flood_peak=$7 handler=$8
    local log_lines=$9
    # PROBE fields: cold <sent> <busy> <other> cached <sent> <p50 us> <p99 us> <non-200>
    read -r _ q_cold q_busy q_other _ q_sent q_p50 q_p99 q_bad <<<"$quiet"
    read -r _ f_cold f_busy f_other _ f_sent f_p50 f_p99 f_bad <<<"$flooded"
    awk -v busy="$f_busy" -v cold="$f_cold" -v q="$q_p99" -v f="$f_p99" 'BEGIN {
        printf "cold allowlisted requests answered 503 busy under the flood: %.1f %% (%d of %d; target: at most 1 %%)\n", (cold > 0 ? 100 * busy / cold : 0), busy, cold
        printf "cached p99 under the flood / quiet: %.2f× (%.2f ms / %.2f ms; target: at most 2×)\n", (q > 0 ? f / q : 0), f / 1000, q / 1000
    }'
    echo
    echo "handler: $handler; ${DURATION} s per run; flood: $FLOOD, $FLOOD_PROCESSES processes ×" \
        "$FLOOD_CONNECTIONS connections; cold: one every $COLD_EVERY_MS ms; cached:" \
        "$CACHED_WORKERS workers every $CACHED_EVERY_MS ms; $(nproc) cores"
    echo
    echo "| run | cold sent | cold 503 busy | cold other non-200 | cached sent | cached p50 ms | cached p99 ms | cached non-200 | peak RSS MB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -v c="$q_cold" -v b="$q_busy" -v o="$q_other" -v s="$q_sent" -v a="$q_p50" -v p="$q_p99" \
        -v bad="$q_bad" -v m="$quiet_peak" \
        'BEGIN { printf "| quiet | %d | %d | %d | %d | %.2f | %.2f | %d | %.1f |\n", c, b, o, s, a/1000, p/1000, bad, m/1024 }'
    awk -v c="$f_cold" -v b="$f_busy" -v o="$f_other" -v s="$f_sent" -v a="$f_p50" -v p="$f_p99" \
        -v bad="$f_bad" -v m="$flood_peak" \
        'BEGIN { printf "| flood | %d | %d | %d | %d | %.2f | %.2f | %d | %.1f |\n", c, b, o, s, a/1000, p/1000, bad, m/1024 }'
    echo
    awk -v idle="$idle" -v hwm="$hwm" -v lines="$log_lines" -v seconds="$DURATION" 'BEGIN {
        printf "- resident memory: %.1f MB idle after start, %.1f MB peak over both runs (VmHWM)\n", idle/1024, hwm/1024
        printf "- log lines on stderr during the flood run: %d (%.0f a second)\n", lines, lines / seconds
    }'
    while read -r line; do
        echo "- flood: ${line#FLOOD } (requests, then count per status)"
    done <<<"$flood"
}

main "$@"

#!/usr/bin/env bash
# Load test: mtls-handler against the reference Express app, same requests, same machine.
#
# Builds the release binary, makes a PKI (examples/bench_pki.rs: `handler dev`'s PKI plus a
# pinned self-signed certificate and many distinct CA-signed ones), starts a local mutual-TLS
# upstream (examples/upstream.rs), starts the handler the way the Functions host does and the
# reference app as published, then runs wrk against each route of each. Prints a Markdown
# table: requests/s, p50/p99 latency, resident memory, the ratios, and cold start.
#
# Usage: bench/load.sh          (from anywhere; writes nothing in the tree but target/)
# Knobs: DURATION=10s THREADS=2 CONNECTIONS=50 DISTINCT=60000 bench/load.sh
# Only 127.0.0.1 receives traffic. Every loop is bounded; every process is killed on exit.
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
DISTINCT=${DISTINCT:-60000}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtls-handler-load.XXXXXX")
PIDS=()

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# --- tools -----------------------------------------------------------------------------------
install_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    command -v curl >/dev/null || missing+=(curl)
    if ((${#missing[@]})); then
        log "installing ${missing[*]} with apt"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    log "installing express for the reference app (into $WORK/node)"
    npm install --prefix "$WORK/node" --no-audit --no-fund --silent express >/dev/null
}

# --- processes -------------------------------------------------------------------------------

now_ns() { date +%s%N; }

# Waits (at most 10 s) for the first HTTP answer on 127.0.0.1:$1$2; prints ms since $3 (ns).
first_answer_ms() {
    local port=$1 path=$2 start=$3 line attempt
    for attempt in $(seq 1 10000); do
        if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
            printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
            if read -r -t 2 -u 3 line && [[ $line == HTTP/1.1\ * ]]; then
                local end
                end=$(now_ns)
                exec 3<&-
                echo $(((end - start) / 1000000))
                return 0
            fi
            exec 3<&-
        fi 2>/dev/null
        sleep 0.001
    done
    return 1
}

memory_kb() { # VmRSS and VmHWM of pid $1, in kB
    awk '/^VmRSS:/ { rss = $2 } /^VmHWM:/ { hwm = $2 } END { print rss, hwm }' "/proc/$1/status"
}

# --- runs ------------------------------------------------------------------------------------
# run_wrk <label> <url> [header-file | @rotating]; prints "label rps p50 p99 requests bad rss hwm"
run_wrk() {
    local label=$1 url=$2 cert=${3:-} pid=$4 out
    local args=(-t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --timeout 5s -s "$ROOT/bench/wrk.lua")
    if [[ $cert == @rotating ]]; then
        out=$(CERT_FILE="$WORK/pki/rotating.txt" wrk "${args[@]}" "$url")
    elif [[ -n $cert ]]; then
        out=$(wrk "${args[@]}" -H "X-ARR-ClientCert: $(cat "$cert")" "$url")
    else
        out=$(wrk "${args[@]}" "$url")
    fi
    local result
    result=$(grep '^RESULT ' <<<"$out") || die "wrk gave no result for $label: $out"
    read -r _ requests rps p50 p99 non2xx socket_errors <<<"$result"
    read -r rss hwm < <(memory_kb "$pid")
    echo "$label $rps $p50 $p99 $requests $((non2xx + socket_errors)) $rss $hwm"
}

# expect_ok <url> [header-file]: one request must answer 200 before we measure anything.
expect_ok() {
    local url=$1 cert=${2:-} status
    if [[ -n $cert ]]; then
        status=$(curl -s -o "$WORK/last-body" -w '%{http_code}' --max-time 10 \
            -H "X-ARR-ClientCert: $(cat "$cert")" "$url")
    else
        status=$(curl -s -o "$WORK/last-body" -w '%{http_code}' --max-time 10 "$url")
    fi
    [[ $status == 200 ]] || die "$url answered $status: $(head -c 300 "$WORK/last-body")"
}

main() {
    install_tools
    log "building the release binary and the bench examples"
    (cd "$ROOT" && cargo build --release --quiet --bin handler --example bench_pki --example upstream)
    local bin=$ROOT/target/release
    [[ -n ${CARGO_TARGET_DIR:-} ]] && bin=$CARGO_TARGET_DIR/release

    log "making the PKI ($DISTINCT distinct client certificates)"
    "$bin/examples/bench_pki" "$WORK/pki" "$DISTINCT"
    # shellcheck source=/dev/null
    source "$WORK/pki/bench.env"
    local pki=$WORK/pki

    log "starting the mutual-TLS upstream"
    "$bin/examples/upstream" "$pki/server.pem" "$pki/server.key" "$pki/ca.pem" >"$WORK/upstream.out" 2>&1 &
    PIDS+=($!)
    local upstream_addr="" attempt
    for attempt in $(seq 1 500); do
        upstream_addr=$(awk '/^listening / { print $2 }' "$WORK/upstream.out")
        [[ -n $upstream_addr ]] && break
        sleep 0.01
    done
    [[ -n $upstream_addr ]] || die "the upstream did not start: $(cat "$WORK/upstream.out")"
    local remote_url=https://$upstream_addr/health

    local ours_port ref_port start
    ours_port=$(free_port)
    log "starting mtls-handler on 127.0.0.1:$ours_port as the Functions host would"
    start=$(now_ns)
    (cd "$ROOT" && exec env -i PATH="$PATH" \
        FUNCTIONS_WORKER_RUNTIME=custom \
        FUNCTIONS_CUSTOMHANDLER_PORT="$ours_port" FUNCTIONS_HTTPWORKER_PORT="$ours_port" \
        FUNCTIONS_CUSTOMHANDLER_WORKER_ID=bench FUNCTIONS_HTTPWORKER_ID=bench \
        FUNCTIONS_APP_ROOT_PATH="$ROOT" \
        RUST_LOG=warn LOG_FORMAT=json \
        CLIENT_CERT_TRUSTED_CA_PATHS="$pki/ca.pem,$pki/rotating-ca.pem" \
        ALLOWED_CLIENT_CERT_COMMON_NAMES="$CLIENT_CN,$ROTATING_CN" \
        ALLOWED_CLIENT_CERT_THUMBPRINTS="$PINNED_SHA1" \
        OUTBOUND_CLIENT_CERT_PATH="$pki/outbound.p12" \
        OUTBOUND_CLIENT_CERT_PASSWORD="$OUTBOUND_PASSWORD" \
        OUTBOUND_TRUSTED_CA_PATHS="$pki/ca.pem" \
        REMOTE_API_URL="$remote_url" \
        "$bin/handler") >"$WORK/handler.out" 2>&1 &
    local ours_pid=$!
    PIDS+=("$ours_pid")
    local ours_cold
    ours_cold=$(first_answer_ms "$ours_port" / "$start") ||
        die "mtls-handler did not answer: $(tail -5 "$WORK/handler.out")"

    ref_port=$(free_port)
    log "starting the reference app on 127.0.0.1:$ref_port"
    start=$(now_ns)
    env -i PATH="$PATH" NODE_PATH="$WORK/node/node_modules" NODE_ENV=production \
        NODE_EXTRA_CA_CERTS="$pki/ca.pem" \
        PORT="$ref_port" \
        ALLOWED_CLIENT_CERT_COMMON_NAMES="$CLIENT_CN,$ROTATING_CN" \
        ALLOWED_CLIENT_CERT_THUMBPRINTS="$PINNED_SHA1" \
        OUTBOUND_CLIENT_CERT_PATH="$pki/outbound.p12" \
        OUTBOUND_CLIENT_CERT_PASSWORD="$OUTBOUND_PASSWORD" \
        REMOTE_API_URL="$remote_url" \
        node "$ROOT/bench/reference/app.js" >"$WORK/reference.out" 2>&1 &
    local ref_pid=$!
    PIDS+=("$ref_pid")
    local ref_cold
    ref_cold=$(first_answer_ms "$ref_port" /health "$start") ||
        die "the reference app did not answer: $(tail -5 "$WORK/reference.out")"

    local ours=http://127.0.0.1:$ours_port/api ref=http://127.0.0.1:$ref_port
    local ours_idle ref_idle
    ours_idle=$(memory_kb "$ours_pid")
    ref_idle=$(memory_kb "$ref_pid")
    for base in "$ours" "$ref"; do
        expect_ok "$base/health"
        expect_ok "$base/cert-info" "$pki/pinned.b64"
        expect_ok "$base/cert-info" "$pki/client.b64"
        expect_ok "$base/outbound-mtls" "$pki/client.b64"
    done

    local results=$WORK/results
    : >"$results"
    local side base pid
    for side in ours reference; do
        if [[ $side == ours ]]; then base=$ours pid=$ours_pid; else base=$ref pid=$ref_pid; fi
        log "wrk against $side ($DURATION per route)"
        {
            echo "$side health $(run_wrk health "$base/health" "" "$pid")"
            echo "$side pinned $(run_wrk pinned "$base/cert-info" "$pki/pinned.b64" "$pid")"
            echo "$side cached $(run_wrk cached "$base/cert-info" "$pki/client.b64" "$pid")"
            echo "$side uncached $(run_wrk uncached "$base/cert-info" @rotating "$pid")"
            echo "$side outbound $(run_wrk outbound "$base/outbound-mtls" "$pki/client.b64" "$pid")"
        } >>"$results"
    done

    report "$results" "$ours_cold" "$ref_cold" "$ours_idle" "$ref_idle"
}

report() {
    local results=$1 ours_cold=$2 ref_cold=$3 ours_idle=$4 ref_idle=$5
    echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION; $DISTINCT distinct certificates for 'uncached';" \
        "express $(node -p "require('$WORK/node/node_modules/express/package.json').version")," \
        "node $(node --version), $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo))"
    echo
    awk -v ours_cold="$ours_cold" -v ref_cold="$ref_cold" \
        -v ours_idle="$ours_idle" -v ref_idle="$ref_idle" '
    BEGIN {
        names["health"] = "GET /health"
        names["pinned"] = "GET /cert-info, pinned (thumbprint)"
        names["cached"] = "GET /cert-info, CA-verified, one cert (cached)"
        names["uncached"] = "GET /cert-info, CA-verified, distinct certs (uncached)"
        names["outbound"] = "GET /outbound-mtls (local mTLS upstream)"
        split("health pinned cached uncached outbound", order, " ")
    }
    { key = $1 SUBSEP $2; rps[key] = $4; p50[key] = $5; p99[key] = $6; req[key] = $7
      bad[key] = $8; rss[key] = $9; hwm[key] = $10 }
    function ms(us) { return sprintf("%.2f", us / 1000) }
    function mb(kb) { return sprintf("%.1f", kb / 1024) }
    function ratio(a, b) { return b > 0 ? sprintf("%.1f×", a / b) : "n/a" }
    END {
        print "| route | ours rps | ours p50 / p99 ms | ours RSS / HWM MB | ref rps | ref p50 / p99 ms | ref RSS / HWM MB | rps ours/ref | RSS ref/ours |"
        print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        for (i = 1; i <= 5; i++) {
            r = order[i]; o = "ours" SUBSEP r; f = "reference" SUBSEP r
            note = ""
            if (bad[o] > 0 || bad[f] > 0) note = sprintf(" (non-2xx or errors: ours %d/%d, ref %d/%d)", bad[o], req[o], bad[f], req[f])
            printf "| %s%s | %d | %s / %s | %s / %s | %d | %s / %s | %s / %s | %s | %s |\n", names[r], note,
                rps[o], ms(p50[o]), ms(p99[o]), mb(rss[o]), mb(hwm[o]),
                rps[f], ms(p50[f]), ms(p99[f]), mb(rss[f]), mb(hwm[f]),
                ratio(rps[o], rps[f]), ratio(rss[f], rss[o])
        }
        print ""
        o = "ours" SUBSEP "cached"; h = "ours" SUBSEP "health"
        printf "- our cert-info (cached) vs our health: %s; pinned: %s; uncached: %s\n",
            ratio(rps[o], rps[h]), ratio(rps["ours" SUBSEP "pinned"], rps[h]), ratio(rps["ours" SUBSEP "uncached"], rps[h])
        split(ours_idle, oi, " "); split(ref_idle, ri, " ")
        printf "- RSS when idle after start: ours %s MB, reference %s MB (%s); peak over the run: ours %s MB, reference %s MB (%s)\n",
            mb(oi[1]), mb(ri[1]), ratio(ri[1], oi[1]), mb(hwm["ours" SUBSEP "outbound"]), mb(hwm["reference" SUBSEP "outbound"]),
            ratio(hwm["reference" SUBSEP "outbound"], hwm["ours" SUBSEP "outbound"])
        printf "- cold start, exec to first answer: ours %d ms (GET /, PKCS#12 and CA bundles loaded), reference %d ms (GET /health) (%s)\n",
            ours_cold, ref_cold, ratio(ref_cold, ours_cold)
    }' "$results"
}

main "$@"

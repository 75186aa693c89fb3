#!/usr/bin/env sh
# Checks a running deployment from the outside, as a caller sees it, and exits 0 only when all
# of these hold (one line each):
#   health         GET /api/health with the client certificate answers 200
#   posture        health's "posture" is "verified": the handler read the site's client-certificate
#                  settings from ARM and found them safe (a handler that reports no posture is
#                  named as such; --require-posture makes that a failure)
#   cert-info      GET /api/cert-info with the certificate answers 200, describes that certificate
#                  (its SHA-256), and names the expected identity (--expect-identity)
#   forged header  GET /api/cert-info WITHOUT a TLS client certificate, carrying a forged
#                  X-ARR-ClientCert of the same certificate, is refused by the front end (a failed
#                  handshake or a 403 of its own); never 200, and not first seen by the handler
#
# Usage: scripts/verify-deployment.sh --url URL --cert CLIENT.pem --key CLIENT.key
#          [--cacert CA.pem] [--function-key KEY] [--expect-identity NAME] [--require-posture]
#   --url URL              the app's base URL (azd: AZURE_FUNCTION_APP_URL), https only
#   --cert, --key          a client certificate the allowlist admits, and its key (PEM)
#   --cacert CA.pem        the CA of the app's server certificate (default: the system's roots)
#   --function-key KEY     a function key, for the functions with authLevel function
#   --expect-identity NAME cert-info must name NAME: its CN, a SAN, or the matched principal
#   --require-posture      fail when health reports no posture at all
#
# Environment: VERIFY_WAIT_SECONDS (default 60): how long to keep asking health, every 10 s, while
# it does not answer 200 or reports the posture "unverified" (the first check runs in the
# background; a new Reader role assignment can take up to 30 minutes to apply).
# VERIFY_TIMEOUT_SECONDS (default 30): the limit on each request.
#
# Exit status: 0 every check holds; 1 a check failed; 2 wrong usage.
# Needs curl; openssl (or base64 and sha256sum) to compare the certificate's SHA-256.
set -eu

usage() {
  sed -n '2,/^[^#]/p' "$0" | sed -e '/^[^#]/d' -e 's/^# \{0,1\}//'
}

usage_error() {
  echo "verify-deployment.sh: $*" >&2
  echo "usage: scripts/verify-deployment.sh --url URL --cert CLIENT.pem --key CLIENT.key [--cacert CA.pem] [--function-key KEY] [--expect-identity NAME] [--require-posture]" >&2
  exit 2
}

url=
cert=
key=
cacert=
function_key=
expect_identity=
require_posture=false
while [ $# -gt 0 ]; do
  case "$1" in
    --url|--cert|--key|--cacert|--function-key|--expect-identity)
      [ $# -ge 2 ] || usage_error "$1 needs a value"
      case "$1" in
        --url) url=$2 ;;
        --cert) cert=$2 ;;
        --key) key=$2 ;;
        --cacert) cacert=$2 ;;
        --function-key) function_key=$2 ;;
        --expect-identity) expect_identity=$2 ;;
      esac
      shift 2 ;;
    --require-posture) require_posture=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done

[ -n "$url" ] || usage_error "--url is required"
[ -n "$cert" ] || usage_error "--cert is required"
[ -n "$key" ] || usage_error "--key is required"
case "$url" in
  https://*) ;;
  *) usage_error "--url must be https:// (plain HTTP never carries a client certificate): '$url'" ;;
esac
[ -r "$cert" ] || usage_error "--cert: cannot read '$cert'"
[ -r "$key" ] || usage_error "--key: cannot read '$key'"
[ -z "$cacert" ] || [ -r "$cacert" ] || usage_error "--cacert: cannot read '$cacert'"
grep -q -- '-----BEGIN CERTIFICATE-----' "$cert" || usage_error "--cert: '$cert' is not a PEM certificate"
command -v curl >/dev/null 2>&1 || usage_error "curl not found: install it"
wait_seconds=${VERIFY_WAIT_SECONDS:-60}
timeout=${VERIFY_TIMEOUT_SECONDS:-30}
case "$wait_seconds" in ''|*[!0-9]*) usage_error "VERIFY_WAIT_SECONDS must be a whole number of seconds" ;; esac
case "$timeout" in ''|*[!0-9]*|0) usage_error "VERIFY_TIMEOUT_SECONDS must be a whole number of seconds, at least 1" ;; esac

# The app's base URL; /api is where the functions are (host.json routePrefix).
url=${url%/}
url=${url%/api}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
# The key goes to curl in a header file, not on its command line (where `ps` would show it).
if [ -n "$function_key" ]; then
  printf 'x-functions-key: %s\n' "$function_key" >"$work/key-header"
else
  : >"$work/key-header"
fi

failures=0
ok() { printf 'ok    %s\n' "$*"; }
note() { printf 'note  %s\n' "$*"; }
fail() {
  printf 'FAIL  %s\n' "$*"
  failures=$((failures + 1))
}

# request NAME PATH [curl options...]: sets status (the HTTP status, empty without a response),
# curl_status and curl_error; the body is in $work/NAME.body (at most 1 MiB).
request() {
  name=$1
  path=$2
  shift 2
  set +e
  status=$(curl --silent --show-error --proto '=https' --max-time "$timeout" --connect-timeout 10 \
    --max-filesize 1048576 --output "$work/$name.body" --write-out '%{http_code}' \
    ${cacert:+--cacert "$cacert"} "$@" "$url/api/$path" 2>"$work/$name.err")
  curl_status=$?
  set -e
  [ "$status" != 000 ] || status=
  curl_error=$(head -c 300 "$work/$name.err" | tr '\n' ' ')
  [ -f "$work/$name.body" ] || : >"$work/$name.body"
}

# The string value of a top-level JSON field of a body ("" when absent or not a string).
field() {
  sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$work/$2.body" | head -n 1
}

has_field() {
  grep -q "\"$1\"[[:space:]]*:" "$work/$2.body"
}

# A body as one short line, for messages.
excerpt() {
  head -c 200 "$work/$1.body" | tr -d '\r' | tr '\n' ' '
}

# What the handler said when it refused: its JSON error code, or nothing for any other answer.
refusal() {
  code=$(field code "$1")
  if [ -n "$code" ]; then
    printf '%s (%s)' "$code" "$(field error "$1")"
  fi
}

# --- health, and the posture it reports --------------------------------------------------------

deadline=$(($(date +%s) + wait_seconds))
while :; do
  request health health --cert "$cert" --key "$key"
  posture=$(field posture health)
  retry=false
  if [ -z "$status" ] || [ "$status" -ge 500 ]; then
    retry=true
  elif [ "$status" = 200 ] && [ "$posture" = unverified ]; then
    retry=true
  fi
  if [ "$retry" = false ] || [ "$(date +%s)" -ge "$deadline" ]; then
    break
  fi
  echo "...   health: ${status:-no answer}${posture:+, posture $posture}; asking again in 10 s"
  sleep 10
done

if [ -z "$status" ]; then
  fail "health: no answer from $url/api/health: $curl_error"
  echo "verify-deployment: the app could not be reached; the other checks were not run"
  exit 1
elif [ "$status" = 200 ] && grep -q '"status"[[:space:]]*:[[:space:]]*"ok"' "$work/health.body"; then
  ok "health: 200 from $url/api/health"
else
  fail "health: $status from $url/api/health, not 200 {\"status\":\"ok\"}: $(excerpt health)"
fi

if [ "$status" = 200 ]; then
  if [ "$posture" = verified ]; then
    ok "posture: verified (the handler read this site's client-certificate settings from ARM: safe)"
  elif [ -n "$posture" ]; then
    case "$posture" in
      unverified) why="the handler could not read the site's settings yet: the first check runs in the background, and a new Reader role assignment can take up to 30 minutes to apply; the handler's log says which (protected functions answer 503 posture_unverified until then)" ;;
      unsafe) why="the site's client-certificate settings would let a forged X-ARR-ClientCert through (protected functions answer 503 posture_unsafe); the handler's ERROR line names the setting to fix" ;;
      off) why="CLIENT_CERT_POSTURE is off, so nothing checks the front end's settings from inside the app" ;;
      *) why="not a posture this script knows (verified, unverified, unsafe, off)" ;;
    esac
    fail "posture: $posture: $why"
  elif has_field posture health; then
    fail "posture: health reports a posture this script cannot read: $(excerpt health)"
  elif [ "$require_posture" = true ]; then
    fail "posture: health reports no posture (--require-posture): this handler does not check the front end's settings itself"
  else
    note "posture: health reports no posture: this handler does not check the front end's settings itself (--require-posture makes this a failure); the forged-header check below is the proof"
  fi
fi

# --- cert-info with the certificate ------------------------------------------------------------

# The certificate as the front end forwards it: base64 DER, the first certificate of the file.
certificate_base64=$(sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$cert" |
  sed -e '/-----END CERTIFICATE-----/q' | sed -e '/-----/d' | tr -d ' \r\n')
presented_sha256=
if command -v openssl >/dev/null 2>&1; then
  presented_sha256=$(openssl x509 -in "$cert" -outform DER 2>/dev/null | openssl dgst -sha256 -r 2>/dev/null |
    cut -d ' ' -f 1 || true)
elif command -v base64 >/dev/null 2>&1 && command -v sha256sum >/dev/null 2>&1; then
  presented_sha256=$(printf '%s' "$certificate_base64" | base64 -d 2>/dev/null | sha256sum | cut -d ' ' -f 1 || true)
fi
presented_sha256=$(printf '%s' "$presented_sha256" | tr 'a-f' 'A-F')

request cert-info cert-info --cert "$cert" --key "$key" --header "@$work/key-header"
if [ -z "$status" ]; then
  fail "cert-info: no answer: $curl_error"
elif [ "$status" = 200 ]; then
  problems=
  described=$(field sha256 cert-info | tr 'a-f' 'A-F' | tr -d ':')
  if [ -n "$presented_sha256" ] && [ "$described" != "$presented_sha256" ]; then
    problems="it describes another certificate (SHA-256 $described, the one presented is $presented_sha256)"
  fi
  if [ -n "$expect_identity" ]; then
    quoted=$(printf '%s' "$expect_identity" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
    if ! grep -q -F -e ":\"$quoted\"" -e "[\"$quoted\"" -e ",\"$quoted\"" "$work/cert-info.body"; then
      problems="${problems:+$problems; }it does not name $expect_identity (commonName \"$(field commonName cert-info)\")"
    fi
  fi
  if [ -n "$problems" ]; then
    fail "cert-info: 200, but $problems"
  else
    ok "cert-info: 200, commonName \"$(field commonName cert-info)\", matched rule \"$(field matchedRule cert-info)\"${expect_identity:+, names $expect_identity}${presented_sha256:+, the certificate presented}"
  fi
else
  said=$(refusal cert-info)
  case "$status" in
    401) why="the host wants a function key (--function-key)" ;;
    403) why=${said:+"the handler refused the certificate: $said"} ;;
    503) why=${said:+"the handler cannot admit anyone yet: $said"} ;;
    *) why= ;;
  esac
  fail "cert-info: $status: ${why:-$(excerpt cert-info)}"
fi

# --- a forged header without a client certificate ----------------------------------------------

request forged cert-info --header "@$work/key-header" --header "X-ARR-ClientCert: $certificate_base64"
said=$(refusal forged)
if [ -z "$status" ]; then
  case "$curl_status" in
    35|56) ok "forged header: refused by the front end: the TLS handshake needs a client certificate ($curl_error)" ;;
    *) fail "forged header: no answer, but not a refused handshake either, so the check proves nothing (curl exit $curl_status): $curl_error" ;;
  esac
elif [ "$status" -ge 200 ] && [ "$status" -lt 300 ]; then
  fail "forged header: ADMITTED ($status): a caller without a certificate got in by writing X-ARR-ClientCert itself. Set clientCertEnabled true and clientCertMode Required with no exclusion path over protected functions, now: $(excerpt forged)"
elif [ -n "$said" ]; then
  fail "forged header: $status from the handler, $said: nobody got in, but the front end let a request without a client certificate through to the handler; with clientCertMode Required and no exclusion path over cert-info the front end refuses it first (az functionapp show --query \"{enabled:clientCertEnabled,mode:clientCertMode,exclusions:clientCertExclusionPaths}\")"
elif [ "$status" = 403 ]; then
  ok "forged header: refused by the front end (403 of its own, not the handler's)"
elif [ "$status" = 401 ]; then
  fail "forged header: 401 from the host: the front end let a request without a client certificate through (the function key was the only barrier left)"
else
  fail "forged header: $status, neither admitted nor refused by the front end: $(excerpt forged)"
fi

if [ "$failures" -eq 0 ]; then
  echo "verify-deployment: every check holds for $url"
  exit 0
fi
echo "verify-deployment: $failures check(s) failed for $url"
exit 1

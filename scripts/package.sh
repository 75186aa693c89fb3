#!/usr/bin/env sh
# Builds the release handler and stages the Functions app for deployment:
#   dist/functionapp/        host.json, every function folder (each top-level folder with a
#                            function.json), `handler` (mode 0755), trust/ when given; nothing else
#   dist/functionapp.zip     the same files, the executable bit kept in the zip's Unix attributes
#                            (what azd deploys, as is)
#   dist/releases/functionapp-<UTC time>-<version>-<commit>.zip
#                            a copy of every package built, for rolling back (docs/deploy.md):
#                            the newest MTLS_RELEASES_KEEP (10) are kept, in MTLS_RELEASES_DIR
#                            (dist/releases)
#
# Usage: scripts/package.sh [--target musl|gnu] [--trust DIR] [--client-ca FILE]
#   --target musl   (default) static x86_64-unknown-linux-musl build: runs on any Functions image
#   --target gnu    x86_64-unknown-linux-gnu, for a quick local build; runs in Azure only when this
#                   machine's glibc is not newer than the image's (README "Publishing")
#   --trust DIR     ship DIR as trust/ in the package: CAs, intermediates, CRLs, the policy file,
#                   the upstream's private CA. Default: $MTLS_TRUST_DIR, else ./trust if it exists.
#                   Certificates and CRLs only: a private key or a PKCS#12 file is refused.
#   --client-ca F   also ship F (a PEM CA bundle) as trust/client-ca.pem
#
# The path settings (CLIENT_CERT_TRUSTED_CA_PATHS, CLIENT_CERT_INTERMEDIATE_CA_PATHS,
# CLIENT_CERT_CRL_PATHS, CLIENT_CERT_POLICY_PATH, OUTBOUND_TRUSTED_CA_PATHS) are checked against
# the package when they are set in the environment, as they are when azd runs this script as its
# prepackage hook: a relative path is resolved against the app root (the handler's working
# directory), so trust/partner-ca.pem must be in the package, or packaging fails here instead of
# the app failing to start in Azure.
#
# Needs cargo and zip. CARGO_TARGET_DIR is honoured.
set -eu

fail() {
  echo "package.sh: $*" >&2
  exit 1
}

warn() {
  echo "package.sh: warning: $*" >&2
}

usage() {
  sed -n '2,/^[^#]/p' "$0" | sed -e '/^[^#]/d' -e 's/^# \{0,1\}//'
}

target=musl
client_ca=
trust=${MTLS_TRUST_DIR:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --target) [ $# -ge 2 ] || fail "--target needs a value (musl or gnu)"; target=$2; shift 2 ;;
    --target=*) target=${1#--target=}; shift ;;
    --trust) [ $# -ge 2 ] || fail "--trust needs a folder"; trust=$2; shift 2 ;;
    --trust=*) trust=${1#--trust=}; shift ;;
    --client-ca) [ $# -ge 2 ] || fail "--client-ca needs a file"; client_ca=$2; shift 2 ;;
    --client-ca=*) client_ca=${1#--client-ca=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) fail "unknown argument '$1' (usage: scripts/package.sh [--target musl|gnu] [--trust DIR] [--client-ca FILE])" ;;
  esac
done

case "$target" in
  musl) triple=x86_64-unknown-linux-musl ;;
  gnu) triple=x86_64-unknown-linux-gnu ;;
  *) fail "--target must be musl or gnu, not '$target'" ;;
esac

# Paths given by the caller are relative to where they called from; the rest to the repository.
absolute() {
  case "$1" in
    ''|/*) printf '%s' "$1" ;;
    *) printf '%s/%s' "$PWD" "$1" ;;
  esac
}
trust=$(absolute "$trust")
client_ca=$(absolute "$client_ca")
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

command -v cargo >/dev/null 2>&1 || fail "cargo not found: install Rust (https://rustup.rs)"
command -v zip >/dev/null 2>&1 || fail "zip not found: install it (Debian/Ubuntu: apt-get install zip)"

# --- what goes in: checked before the (slow) build -------------------------------------------

functions=
for function_json in */function.json; do
  [ -f "$function_json" ] || continue
  functions="$functions $(dirname "$function_json")"
done
[ -n "$functions" ] || fail "no function folder found: each function is a top-level folder with a function.json"

if [ -z "$trust" ] && [ -d trust ]; then
  trust=trust
fi
if [ -n "$trust" ]; then
  [ -d "$trust" ] || fail "--trust (or MTLS_TRUST_DIR): no such folder '$trust'"
  odd=$(find "$trust" ! -type f ! -type d | head -n 1)
  [ -z "$odd" ] || fail "--trust: '$odd' is not a regular file (copy the file itself into $trust)"
  secret=$(find "$trust" -type f \( -name '*.p12' -o -name '*.pfx' -o -name '*.key' \) | head -n 1)
  [ -z "$secret" ] || fail "--trust: '$secret' looks like a private key; trust material is certificates and CRLs only (the outbound identity belongs in Key Vault)"
  secret=$(grep -rl -- '-----BEGIN [A-Z ]*PRIVATE KEY-----' "$trust" 2>/dev/null | head -n 1 || true)
  [ -z "$secret" ] || fail "--trust: '$secret' holds a private key; trust material is certificates and CRLs only (the outbound identity belongs in Key Vault)"
fi
if [ -n "$client_ca" ]; then
  [ -f "$client_ca" ] || fail "--client-ca: no such file '$client_ca'"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$client_ca" ||
    fail "--client-ca: '$client_ca' is not a PEM certificate file"
  if [ -n "$trust" ] && [ -e "$trust/client-ca.pem" ]; then
    fail "--client-ca and $trust/client-ca.pem would both be trust/client-ca.pem; keep one"
  fi
fi
keep=${MTLS_RELEASES_KEEP:-10}
case "$keep" in
  ''|*[!0-9]*|0) fail "MTLS_RELEASES_KEEP must be a whole number of at least 1, not '$keep'" ;;
esac
if [ -n "${REMOTE_API_URL:-}" ] && [ -n "${AZURE_ENV_NAME:-}" ] &&
  { [ -z "${MTLS_OUTBOUND_KEY_VAULT_NAME:-}" ] || [ -z "${MTLS_OUTBOUND_CERTIFICATE_NAME:-}" ]; }; then
  warn "REMOTE_API_URL is set but MTLS_OUTBOUND_KEY_VAULT_NAME and MTLS_OUTBOUND_CERTIFICATE_NAME are not both set: the template leaves REMOTE_API_URL out, and outbound-mtls stays off"
fi

# Every file a path setting names must be where the handler will look: relative to the app root,
# so trust/<file> is <trust folder>/<file> here.
packaged() {
  case "$1" in
    trust/client-ca.pem) [ -n "$client_ca" ] && return 0 ;;
  esac
  case "$1" in
    trust/*) [ -n "$trust" ] && [ -f "$trust/${1#trust/}" ] ;;
    *) return 1 ;;
  esac
}
for setting in CLIENT_CERT_TRUSTED_CA_PATHS CLIENT_CERT_INTERMEDIATE_CA_PATHS CLIENT_CERT_CRL_PATHS \
  CLIENT_CERT_POLICY_PATH OUTBOUND_TRUSTED_CA_PATHS; do
  eval "value=\${$setting:-}"
  [ -n "$value" ] || continue
  old_ifs=$IFS
  IFS=,
  set -f
  # shellcheck disable=SC2086 # split on commas on purpose
  set -- $value
  set +f
  IFS=$old_ifs
  for entry in "$@"; do
    entry=$(printf '%s' "$entry" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
    case "$entry" in
      '') ;;
      /var/ssl/*) echo "package.sh: $setting: $entry is loaded by the platform, not packaged (not checked here)" ;;
      /*) warn "$setting: $entry is an absolute path and not checked; a path relative to the app root (trust/...) is checked against the package and holds on every plan" ;;
      trust/*) packaged "$entry" ||
        fail "$setting names $entry, which would not be in the package: put the file in the trust folder (${trust:-./trust}) as ${entry#trust/}, or change the setting (azd env set $setting ...)" ;;
      *) fail "$setting names $entry: only the trust folder is packaged, so a relative path starts with trust/ (e.g. trust/${entry##*/})" ;;
    esac
  done
done

if [ "$target" = musl ] && command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -qx "$triple" ||
    fail "the $triple target is not installed. Run: rustup target add $triple
  (and install musl-tools for ring's C code: apt-get install musl-tools), or build with --target gnu"
fi

# --- build -------------------------------------------------------------------------------------

target_dir=${CARGO_TARGET_DIR:-$root/target}
host=$(rustc -vV | sed -n 's/^host: //p')
if [ "$host" = "$triple" ]; then
  # A native build shares target/release with `cargo build --release`.
  echo "package.sh: cargo build --release --locked --bin handler ($triple)"
  cargo build --release --locked --bin handler
  binary=$target_dir/release/handler
else
  echo "package.sh: cargo build --release --locked --bin handler --target $triple"
  cargo build --release --locked --bin handler --target "$triple"
  binary=$target_dir/$triple/release/handler
fi
[ -x "$binary" ] || fail "the build did not produce $binary"

# --- stage -------------------------------------------------------------------------------------

dist=$root/dist
app=$dist/functionapp
rm -rf "$app" "$dist/functionapp.zip"
mkdir -p "$app"
cp host.json "$app/host.json"
for folder in $functions; do
  mkdir -p "$app/$folder"
  cp "$folder/function.json" "$app/$folder/function.json"
done
cp "$binary" "$app/handler"
chmod 0755 "$app/handler"
if [ -n "$trust" ]; then
  mkdir -p "$app/trust"
  (cd "$trust" && find . -type f) | while IFS= read -r file; do
    mkdir -p "$app/trust/$(dirname "$file")"
    cp "$trust/$file" "$app/trust/$file"
    chmod 0644 "$app/trust/$file"
  done
fi
if [ -n "$client_ca" ]; then
  mkdir -p "$app/trust"
  cp "$client_ca" "$app/trust/client-ca.pem"
  chmod 0644 "$app/trust/client-ca.pem"
fi

# -X leaves out extra file attributes (uid/gid, times); the Unix mode stays in the central
# directory, which is what keeps `handler` executable when the platform unpacks it.
(cd "$app" && zip -q -r -X "$dist/functionapp.zip" .)
echo "package.sh: staged $app (functions:$functions)"
echo "package.sh: wrote $dist/functionapp.zip"

# --- keep a versioned copy ---------------------------------------------------------------------

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
commit=
if command -v git >/dev/null 2>&1 && git rev-parse --git-dir >/dev/null 2>&1; then
  commit=-g$(git rev-parse --short=12 HEAD)
  git diff --quiet HEAD -- 2>/dev/null || commit=$commit-dirty
fi
releases=$(absolute "${MTLS_RELEASES_DIR:-$dist/releases}")
mkdir -p "$releases"
release=$releases/functionapp-$stamp-${version:-unknown}$commit.zip
cp "$dist/functionapp.zip" "$release"
echo "package.sh: kept $release"
# The names sort by time (a glob expands sorted); remove all but the newest $keep.
count=0
for old in "$releases"/functionapp-*.zip; do
  [ -f "$old" ] && count=$((count + 1))
done
for old in "$releases"/functionapp-*.zip; do
  [ "$count" -gt "$keep" ] || break
  rm -f "$old"
  count=$((count - 1))
done

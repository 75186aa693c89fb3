#!/usr/bin/env sh
# Builds the release handler and stages the Functions app for deployment:
#   dist/functionapp/      host.json, the function folders, `handler` (mode 0755); nothing else
#   dist/functionapp.zip   the same files, the executable bit kept in the zip's Unix attributes
#
# Usage: scripts/package.sh [--target musl|gnu] [--client-ca FILE]
#   --target musl   (default) static x86_64-unknown-linux-musl build: runs on any Functions image
#   --target gnu    x86_64-unknown-linux-gnu, for a quick local build; runs in Azure only when this
#                   machine's glibc is not newer than the image's (README "Publishing")
#   --client-ca F   also ship F (a PEM CA bundle) as trust/client-ca.pem; point
#                   CLIENT_CERT_TRUSTED_CA_PATHS at /home/site/wwwroot/trust/client-ca.pem
# Needs cargo and zip. CARGO_TARGET_DIR is honoured.
set -eu

fail() {
  echo "package.sh: $*" >&2
  exit 1
}

target=musl
client_ca=
while [ $# -gt 0 ]; do
  case "$1" in
    --target) [ $# -ge 2 ] || fail "--target needs a value (musl or gnu)"; target=$2; shift 2 ;;
    --target=*) target=${1#--target=}; shift ;;
    --client-ca) [ $# -ge 2 ] || fail "--client-ca needs a file"; client_ca=$2; shift 2 ;;
    --client-ca=*) client_ca=${1#--client-ca=}; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) fail "unknown argument '$1' (usage: scripts/package.sh [--target musl|gnu] [--client-ca FILE])" ;;
  esac
done

case "$target" in
  musl) triple=x86_64-unknown-linux-musl ;;
  gnu) triple=x86_64-unknown-linux-gnu ;;
  *) fail "--target must be musl or gnu, not '$target'" ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

command -v cargo >/dev/null 2>&1 || fail "cargo not found: install Rust (https://rustup.rs)"
command -v zip >/dev/null 2>&1 || fail "zip not found: install it (Debian/Ubuntu: apt-get install zip)"
if [ -n "$client_ca" ]; then
  [ -f "$client_ca" ] || fail "--client-ca: no such file '$client_ca'"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$client_ca" ||
    fail "--client-ca: '$client_ca' is not a PEM certificate file"
fi
if [ "$target" = musl ] && command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -qx "$triple" ||
    fail "the $triple target is not installed. Run: rustup target add $triple
  (and install musl-tools for ring's C code: apt-get install musl-tools), or build with --target gnu"
fi

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

dist=$root/dist
app=$dist/functionapp
rm -rf "$app" "$dist/functionapp.zip"
mkdir -p "$app"
cp host.json "$app/host.json"
for function_json in */function.json; do
  folder=$(dirname "$function_json")
  mkdir -p "$app/$folder"
  cp "$function_json" "$app/$folder/function.json"
done
cp "$binary" "$app/handler"
chmod 0755 "$app/handler"
if [ -n "$client_ca" ]; then
  mkdir -p "$app/trust"
  cp "$client_ca" "$app/trust/client-ca.pem"
  chmod 0644 "$app/trust/client-ca.pem"
fi

# -X leaves out extra file attributes (uid/gid, times); the Unix mode stays in the central
# directory, which is what keeps `handler` executable when the platform unpacks it.
(cd "$app" && zip -q -r -X "$dist/functionapp.zip" .)
echo "package.sh: staged $app"
echo "package.sh: wrote $dist/functionapp.zip"

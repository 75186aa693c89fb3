#!/usr/bin/env sh
# azd's postdeploy hook: proves the app just deployed with scripts/verify-deployment.sh, when asked
# to. It is off until you give it a client certificate the allowlist admits:
#   azd env set MTLS_VERIFY_CERT /path/to/client.pem
#   azd env set MTLS_VERIFY_KEY /path/to/client.key
# and optionally
#   MTLS_VERIFY_EXPECT_IDENTITY   the identity cert-info must name (its CN, a SAN, the principal)
#   MTLS_VERIFY_REQUIRE_POSTURE   true: fail when the handler reports no posture at all
#   MTLS_VERIFY_CACERT            the CA of the app's server certificate (default: system roots)
#   MTLS_VERIFY_FUNCTION_KEY      a function key; by default read with `az functionapp keys list`
#   MTLS_VERIFY_WAIT_SECONDS      how long to wait for health and a first posture verdict (600)
# A failed check fails `azd deploy` (and `azd up`); the app stays deployed as it is.
# azd passes its environment's values (the template's outputs among them) as variables.
set -eu

if [ -z "${MTLS_VERIFY_CERT:-}" ]; then
  echo "postdeploy: verification is off. To check each deployment from the outside, give it a client certificate the allowlist admits: azd env set MTLS_VERIFY_CERT <client.pem>; azd env set MTLS_VERIFY_KEY <client.key> (docs/deploy.md)"
  exit 0
fi
if [ -z "${MTLS_VERIFY_KEY:-}" ]; then
  echo "postdeploy: MTLS_VERIFY_CERT is set but MTLS_VERIFY_KEY is not: azd env set MTLS_VERIFY_KEY <client.key>" >&2
  exit 1
fi
if [ -z "${AZURE_FUNCTION_APP_URL:-}" ]; then
  echo "postdeploy: AZURE_FUNCTION_APP_URL is not set; run azd provision first (it is one of the template's outputs)" >&2
  exit 1
fi

function_key=${MTLS_VERIFY_FUNCTION_KEY:-}
if [ -z "$function_key" ]; then
  if command -v az >/dev/null 2>&1 && [ -n "${AZURE_RESOURCE_GROUP:-}" ] && [ -n "${AZURE_FUNCTION_APP_NAME:-}" ]; then
    function_key=$(az functionapp keys list --resource-group "$AZURE_RESOURCE_GROUP" \
      --name "$AZURE_FUNCTION_APP_NAME" --query functionKeys.default --output tsv 2>/dev/null || true)
  fi
  [ -n "$function_key" ] ||
    echo "postdeploy: warning: no function key (set MTLS_VERIFY_FUNCTION_KEY, or install and sign in to the Azure CLI); cert-info will answer 401" >&2
fi

set -- --url "$AZURE_FUNCTION_APP_URL" --cert "$MTLS_VERIFY_CERT" --key "$MTLS_VERIFY_KEY"
[ -z "${MTLS_VERIFY_CACERT:-}" ] || set -- "$@" --cacert "$MTLS_VERIFY_CACERT"
[ -z "$function_key" ] || set -- "$@" --function-key "$function_key"
[ -z "${MTLS_VERIFY_EXPECT_IDENTITY:-}" ] || set -- "$@" --expect-identity "$MTLS_VERIFY_EXPECT_IDENTITY"
[ "${MTLS_VERIFY_REQUIRE_POSTURE:-false}" != true ] || set -- "$@" --require-posture

VERIFY_WAIT_SECONDS=${MTLS_VERIFY_WAIT_SECONDS:-600}
export VERIFY_WAIT_SECONDS
exec "$(dirname "$0")/verify-deployment.sh" "$@"

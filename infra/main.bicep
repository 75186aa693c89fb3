// mtls-handler on Azure Functions: `azd up` entry point (subscription scope, creates the
// resource group), in the layout of Microsoft's Functions azd templates.
//
// Not compiled or deployed from the machines this was written on (no Bicep CLI, no Azure):
// checked with checkov and by tests/infra.rs, which reads this text. See README "Deploy to Azure".
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; used to name every resource.')
param environmentName string

@minLength(1)
@description('Azure region for every resource.')
param location string

@description('Object id of the user running azd (AZURE_PRINCIPAL_ID), given blob access to the deployment container; empty for none.')
param principalId string = ''

@allowed([
  'FlexConsumption'
  'ElasticPremium'
])
@description('FlexConsumption (FC1, recommended) or ElasticPremium (EP1, for where a feature is documented only on Premium, e.g. WEBSITE_LOAD_CERTIFICATES).')
param hostingPlan string = 'FlexConsumption'

@allowed([
  'Required'
  'Excluded'
])
@description('''Required (default): /api/health needs a client certificate like every route.
Excluded: adds clientCertExclusionPaths=/api/health, so probes without a certificate reach it. Cost:
the front end then uses TLS renegotiation for the whole app: no TLS 1.3, no HTTP/2, and request
bodies over about 100 KB are refused with 403. The excluded path is also one where a caller could
send its own X-ARR-ClientCert; health never reads it.''')
param healthClientCertificate string = 'Required'

@description('CLIENT_CERT_TRUSTED_CA_PATHS: the CA(s) that sign your callers, as the app sees them: /home/site/wwwroot/<file> for a CA shipped in the package (scripts/package.sh --client-ca), or /var/ssl/certs/<THUMBPRINT>.der for a public certificate loaded for code.')
param trustedClientCaPaths string = ''

@description('ALLOWED_CLIENT_CERT_THUMBPRINTS: pinned caller certificates (SHA-1 or SHA-256 hex), comma-separated.')
param allowedClientCertThumbprints string = ''

@description('ALLOWED_CLIENT_CERT_COMMON_NAMES: caller CNs, comma-separated; needs trustedClientCaPaths.')
param allowedClientCertCommonNames string = ''

@description('ALLOWED_CLIENT_CERT_DNS_NAMES: caller DNS SANs, comma-separated; needs trustedClientCaPaths.')
param allowedClientCertDnsNames string = ''

@description('REMOTE_API_URL: the https upstream outbound-mtls calls; empty leaves outbound off (503).')
param remoteApiUrl string = ''

@description('Key Vault holding the outbound client certificate; empty leaves outbound off.')
param outboundKeyVaultName string = ''

@description('Resource group of that Key Vault; empty means the one this template creates.')
param outboundKeyVaultResourceGroup string = ''

@description('Name of the certificate in that Key Vault (a certificate with its private key).')
param outboundCertificateName string = ''

@description('Object id of the "Microsoft Azure App Service" resource provider in your tenant (az ad sp show --id abfa0a7c-a6b6-4736-8310-5855508787cd --query id -o tsv), which reads the certificate from Key Vault when importing it; empty if you granted it yourself.')
param appServiceProviderPrincipalId string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var outboundEnabled = !empty(outboundKeyVaultName) && !empty(outboundCertificateName)
var outboundKeyVaultGroup = empty(outboundKeyVaultResourceGroup) ? 'rg-${environmentName}' : outboundKeyVaultResourceGroup

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package-${resourceToken}'
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
  }
}

module outboundAccess 'app/keyvault-access.bicep' = if (outboundEnabled) {
  name: 'outbound-keyvault-access'
  scope: resourceGroup(outboundKeyVaultGroup)
  params: {
    keyVaultName: outboundKeyVaultName
    identityPrincipalId: identity.outputs.principalId
    appServiceProviderPrincipalId: appServiceProviderPrincipalId
  }
}

module function 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    serviceName: 'api'
    hostingPlan: hostingPlan
    healthClientCertificate: healthClientCertificate
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    // From the access module's output, so that the roles exist before the import.
    outboundKeyVaultId: outboundEnabled ? outboundAccess.outputs.keyVaultId : ''
    outboundCertificateName: outboundCertificateName
    handlerSettings: {
      CLIENT_CERT_TRUSTED_CA_PATHS: trustedClientCaPaths
      ALLOWED_CLIENT_CERT_THUMBPRINTS: allowedClientCertThumbprints
      ALLOWED_CLIENT_CERT_COMMON_NAMES: allowedClientCertCommonNames
      ALLOWED_CLIENT_CERT_DNS_NAMES: allowedClientCertDnsNames
      REMOTE_API_URL: remoteApiUrl
      LOG_FORMAT: 'plain'
      RUST_LOG: 'info'
    }
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = function.outputs.name
output AZURE_FUNCTION_APP_URL string = function.outputs.url
output FUNCTION_KEY_COMMAND string = 'az functionapp keys list --resource-group ${rg.name} --name ${function.outputs.name} --query functionKeys.default --output tsv'

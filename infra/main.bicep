// mtls-handler on Azure Functions: `azd up` entry point (subscription scope, creates the
// resource group), in the layout of Microsoft's Functions azd templates.
//
// Not compiled or deployed from the machines this was written on (no Bicep CLI, no Azure):
// checked offline against Azure's published resource types, with checkov, and by
// tests/deploy/infra.rs, which reads this text. docs/deploy.md has the steps and what was and
// was not verified.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; used to name every resource.')
param environmentName string

// Flex Consumption is not offered in every region, so azd offers only these (the list of
// Microsoft's Flex Consumption azd quickstart, without its canary region). A region added since
// is refused here: check `az functionapp list-flexconsumption-locations` and add it.
@minLength(1)
@description('Azure region for every resource; one that offers Flex Consumption.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the principal running azd (AZURE_PRINCIPAL_ID), given blob access to the deployment container; empty for none.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('AZURE_PRINCIPAL_TYPE, which azd passes: User, or ServicePrincipal when azd runs as one (CI). A role assignment whose type does not match its principal fails (UnmatchedPrincipalType).')
param principalType string = 'User'

@allowed([
  'FlexConsumption'
  'ElasticPremium'
])
@description('FlexConsumption (FC1, recommended; `azd up` deploys it) or ElasticPremium (EP1: `azd provision`, then upload the package yourself, see docs/deploy.md).')
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

@allowed([
  'enforce'
  'warn'
  'off'
])
@description('CLIENT_CERT_POSTURE: the handler reads the site\'s client-certificate settings from ARM with its identity (Reader on the site) and, under enforce, refuses protected calls while they would let a forged X-ARR-ClientCert through.')
param clientCertPosture string = 'enforce'

// The handler's inbound settings. File paths are relative to the app root (the handler's working
// directory): trust/<file> for a file shipped from the repository's trust/ folder, which
// scripts/package.sh packages and checks against these same values.
@description('CLIENT_CERT_TRUSTED_CA_PATHS: the CA(s) that sign your callers, e.g. trust/partner-ca.pem (shipped by scripts/package.sh), or /var/ssl/certs/<THUMBPRINT>.der for a public certificate loaded for code.')
param trustedClientCaPaths string = ''

@description('CLIENT_CERT_INTERMEDIATE_CA_PATHS: intermediates between those CAs and your callers (the front end forwards the leaf only), e.g. trust/partner-intermediates.pem.')
param intermediateCaPaths string = ''

@description('CLIENT_CERT_CRL_PATHS: CRL files, e.g. trust/partner.crl.')
param crlPaths string = ''

@description('CLIENT_CERT_CRL_URLS: CRL distribution point URLs the handler fetches.')
param crlUrls string = ''

@description('CLIENT_CERT_POLICY_PATH: the JSON identity rules file, e.g. trust/policy.json.')
param policyPath string = ''

@description('ALLOWED_CLIENT_CERT_THUMBPRINTS: pinned caller certificates (SHA-1 or SHA-256 hex), comma-separated.')
param allowedClientCertThumbprints string = ''

@description('ALLOWED_CLIENT_CERT_COMMON_NAMES: caller CNs, comma-separated; needs trustedClientCaPaths.')
param allowedClientCertCommonNames string = ''

@description('ALLOWED_CLIENT_CERT_DNS_NAMES: caller DNS SANs, comma-separated; needs trustedClientCaPaths.')
param allowedClientCertDnsNames string = ''

@description('ALLOWED_CLIENT_CERT_URIS: caller URI SANs (e.g. SPIFFE IDs), comma-separated; needs trustedClientCaPaths.')
param allowedClientCertUris string = ''

@description('ALLOWED_CLIENT_CERT_EMAILS: caller email SANs, comma-separated; needs trustedClientCaPaths.')
param allowedClientCertEmails string = ''

// The outbound call.
@description('REMOTE_API_URL: the https upstream outbound-mtls calls. Passed only together with the outbound certificate below (a URL without an identity cannot be called).')
param remoteApiUrl string = ''

@description('OUTBOUND_TRUSTED_CA_PATHS: the private CA that signs the upstream\'s server certificate, e.g. trust/upstream-ca.pem.')
param outboundTrustedCaPaths string = ''

@description('Key Vault (RBAC authorization, not network-restricted) holding the outbound client certificate; empty leaves outbound off.')
param outboundKeyVaultName string = ''

@description('Resource group of that Key Vault; empty means the one this template creates.')
param outboundKeyVaultResourceGroup string = ''

@description('Name of the certificate in that Key Vault (a certificate with its private key).')
param outboundCertificateName string = ''

@description('Elastic Premium only: the certificate\'s subject CN. The handler then selects the certificate by CN, so a Key Vault renewal needs no new provision; empty pins the thumbprint of the certificate imported now.')
param outboundCertificateCommonName string = ''

@description('Elastic Premium only: object id of the "Microsoft Azure App Service" resource provider in your tenant (az ad sp show --id abfa0a7c-a6b6-4736-8310-5855508787cd --query id -o tsv), which imports the certificate from Key Vault; empty if you granted it Key Vault Certificate User yourself.')
param appServiceProviderPrincipalId string = ''

@description('Any other app settings, as a JSON object of names to strings; the template\'s own settings win when a name is in both.')
param extraAppSettings object = {}

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var isFlex = hostingPlan == 'FlexConsumption'
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
    userPrincipalType: principalType
  }
}

module outboundAccess 'app/keyvault-access.bicep' = if (outboundEnabled) {
  name: 'outbound-keyvault-access'
  scope: resourceGroup(outboundKeyVaultGroup)
  params: {
    keyVaultName: outboundKeyVaultName
    certificateName: outboundCertificateName
    identityPrincipalId: identity.outputs.principalId
    hostingPlan: hostingPlan
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
    clientCertPosture: clientCertPosture
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    identityPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    // From the access module's outputs, so that its role assignments exist before the site
    // resolves the Key Vault reference (Flex) or imports the certificate (Elastic Premium).
    outboundKeyVaultId: outboundEnabled ? outboundAccess!.outputs.keyVaultId : ''
    outboundKeyVaultUri: outboundEnabled ? outboundAccess!.outputs.keyVaultUri : ''
    outboundCertificateName: outboundCertificateName
    outboundCertificateCommonName: outboundCertificateCommonName
    extraAppSettings: extraAppSettings
    handlerSettings: {
      CLIENT_CERT_TRUSTED_CA_PATHS: trustedClientCaPaths
      CLIENT_CERT_INTERMEDIATE_CA_PATHS: intermediateCaPaths
      CLIENT_CERT_CRL_PATHS: crlPaths
      CLIENT_CERT_CRL_URLS: crlUrls
      CLIENT_CERT_POLICY_PATH: policyPath
      ALLOWED_CLIENT_CERT_THUMBPRINTS: allowedClientCertThumbprints
      ALLOWED_CLIENT_CERT_COMMON_NAMES: allowedClientCertCommonNames
      ALLOWED_CLIENT_CERT_DNS_NAMES: allowedClientCertDnsNames
      ALLOWED_CLIENT_CERT_URIS: allowedClientCertUris
      ALLOWED_CLIENT_CERT_EMAILS: allowedClientCertEmails
      // A URL without an identity could never be called, so it goes only with the certificate.
      REMOTE_API_URL: outboundEnabled ? remoteApiUrl : ''
      OUTBOUND_TRUSTED_CA_PATHS: outboundTrustedCaPaths
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
// Elastic Premium runs the package from a blob: azd's own deploy is refused there, so this is the
// command that publishes dist/functionapp.zip (and the one that rolls back to an older one).
output PREMIUM_PUBLISH_COMMAND string = isFlex ? '' : 'az storage blob upload --auth-mode login --account-name ${storage.outputs.name} --container-name ${storage.outputs.deploymentContainerName} --name ${function.outputs.packageBlobName} --file dist/functionapp.zip --overwrite && az functionapp restart --resource-group ${rg.name} --name ${function.outputs.name}'

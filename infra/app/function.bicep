// The plan and the function app: Flex Consumption (FC1, runtime custom 1.0, package in a blob
// container) or Elastic Premium (EP1); HTTPS only, TLS 1.2 or later, FTPS off, basic-auth
// publishing off, and client certificates Required at the front end, which is what makes
// X-ARR-ClientCert trustworthy (README "What the handler trusts").
param name string
param planName string
param location string
param tags object = {}
param serviceName string
@allowed([
  'FlexConsumption'
  'ElasticPremium'
])
param hostingPlan string
@allowed([
  'Required'
  'Excluded'
])
param healthClientCertificate string = 'Required'
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
@description('Key Vault resource id of the outbound certificate; empty leaves outbound off.')
param outboundKeyVaultId string = ''
param outboundCertificateName string = ''
@description('The handler\'s own settings (CLIENT_CERT_*, ALLOWED_*, REMOTE_API_URL, ...).')
param handlerSettings object

var isFlex = hostingPlan == 'FlexConsumption'
var outboundEnabled = !empty(outboundKeyVaultId) && !empty(outboundCertificateName)
// An exclusion path forces TLS renegotiation on the whole app (no TLS 1.3, no HTTP/2, bodies
// over about 100 KB refused), so there is none unless the parameter asks for it.
var clientCertExclusionPaths = healthClientCertificate == 'Excluded' ? '/api/health' : null

var flexSku = { name: 'FC1', tier: 'FlexConsumption' }
var premiumSku = { name: 'EP1', tier: 'ElasticPremium', family: 'EP' }
var flexConfig = {
  deployment: {
    storage: {
      type: 'blobContainer'
      value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
      authentication: {
        type: 'UserAssignedIdentity'
        userAssignedIdentityResourceId: identityId
      }
    }
  }
  scaleAndConcurrency: {
    instanceMemoryMB: 512
    maximumInstanceCount: 40
  }
  runtime: {
    name: 'custom'
    version: '1.0'
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:zone redundancy is available in some regions only and changes the plan's minimum cost; turn it on where you need it
  name: planName
  location: location
  tags: tags
  kind: isFlex ? 'functionapp' : 'elastic'
  sku: isFlex ? flexSku : premiumSku
  properties: {
    reserved: true
    maximumElasticWorkerCount: isFlex ? null : 20
    zoneRedundant: false
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222:callers reach the API over the internet; the front end admits only TLS clients with a certificate (clientCertMode Required) and the handler checks it
  // checkov:skip=CKV_AZURE_212:Flex Consumption scales from zero by design; set always-ready instances in functionAppConfig if you need them
  // checkov:skip=CKV_AZURE_213:the platform health check would probe without a client certificate, which Required mode refuses at the front end; not verified here, so none is configured
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: true
    clientCertMode: 'Required'
    clientCertExclusionPaths: clientCertExclusionPaths
    keyVaultReferenceIdentity: identityId
    publicNetworkAccess: 'Enabled'
    functionAppConfig: isFlex ? flexConfig : null
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      cors: { allowedOrigins: [] }
    }
  }

  resource ftp 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: { allow: false }
  }

  resource scm 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: { allow: false }
  }
}

// The outbound identity: the Key Vault certificate imported into the app. The handler finds
// it as /var/ssl/private/<THUMBPRINT>.p12 (empty password) through
// OUTBOUND_CLIENT_CERT_THUMBPRINT; on Premium WEBSITE_LOAD_CERTIFICATES makes it appear there.
resource outboundCertificate 'Microsoft.Web/certificates@2024-04-01' = if (outboundEnabled) {
  name: '${name}-outbound'
  location: location
  tags: tags
  properties: {
    keyVaultId: outboundKeyVaultId
    keyVaultSecretName: outboundCertificateName
    serverFarmId: plan.id
  }
}

var platformSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}
// Flex takes the runtime from functionAppConfig and refuses these two as app settings.
var premiumOnlySettings = {
  FUNCTIONS_WORKER_RUNTIME: 'custom'
  FUNCTIONS_EXTENSION_VERSION: '~4'
  WEBSITE_RUN_FROM_PACKAGE: '1'
}
var premiumSettings = isFlex ? {} : premiumOnlySettings
var outboundThumbprint = outboundEnabled ? outboundCertificate.properties.thumbprint : ''
var outboundIdentitySettings = { OUTBOUND_CLIENT_CERT_THUMBPRINT: outboundThumbprint }
var loadCertificateSettings = { WEBSITE_LOAD_CERTIFICATES: outboundThumbprint }
var outboundSettings = outboundEnabled ? union(outboundIdentitySettings, isFlex ? {} : loadCertificateSettings) : {}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov reads every Microsoft.Web/sites/config as site configuration; this one holds app
  // settings only, and the site's own configuration is checked on the site resource above.
  // checkov:skip=CKV_AZURE_13:callers authenticate with a client certificate and a function key, not with App Service Authentication (Entra sign-in)
  // checkov:skip=CKV_AZURE_222:app settings have no network access property (see the site resource)
  // checkov:skip=CKV_AZURE_63:App Service HTTP logs are a web-app file log; the handler logs every decision to Application Insights
  // checkov:skip=CKV_AZURE_65:detailed error pages are an IIS (Windows) feature; no effect on a Linux custom handler
  // checkov:skip=CKV_AZURE_66:failed request tracing is an IIS (Windows) feature; no effect on a Linux custom handler
  // checkov:skip=CKV_AZURE_80:no .NET runtime: the app is a custom handler (a Rust executable)
  // checkov:skip=CKV_AZURE_88:the app runs from a package (Flex: a blob container; EP1: WEBSITE_RUN_FROM_PACKAGE), not from an Azure Files share, which would need shared-key access
  parent: site
  name: 'appsettings'
  properties: union(handlerSettings, platformSettings, premiumSettings, outboundSettings)
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'

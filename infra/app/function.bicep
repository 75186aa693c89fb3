// The plan and the function app: Flex Consumption (FC1, runtime custom 1.0, package in a blob
// container) or Elastic Premium (EP1, package run from a blob URL); HTTPS only, TLS 1.2 or later,
// HTTP/1.1, basic-auth publishing off, and client certificates Required at the front end, which
// is what makes X-ARR-ClientCert trustworthy. The app's identity may read the site itself
// (Reader), so that the handler can check that this stays so (CLIENT_CERT_POSTURE).
//
// Site configuration:
// - HTTP/1.1 only (http20Enabled false): client certificates over HTTP/2 are not documented to
//   work on App Service; the portal disables the client-certificate mode picker while HTTP/2 is
//   on, and the built-in Azure Policy check for client certificates exempts every HTTP/2 app.
// - ftpsState on Elastic Premium only: Flex Consumption has no FTP and rejects the key itself
//   (ARM error 51021 on newer stamps, even as null), so it must be absent there.
// (checkov's Bicep parser stops at more than a few comment lines in a row inside a resource, so
// the long explanations live up here.)
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
@allowed([
  'enforce'
  'warn'
  'off'
])
param clientCertPosture string = 'enforce'
param identityId string
param identityClientId string
param identityPrincipalId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
@description('Key Vault resource id of the outbound certificate; empty leaves outbound off.')
param outboundKeyVaultId string = ''
@description('Key Vault URI (https://<vault>.vault.azure.net/) of the outbound certificate.')
param outboundKeyVaultUri string = ''
param outboundCertificateName string = ''
@description('Elastic Premium: select the imported certificate by this CN instead of by thumbprint.')
param outboundCertificateCommonName string = ''
@description('The handler\'s own settings (CLIENT_CERT_*, ALLOWED_*, REMOTE_API_URL, ...); the handler reads an empty one as unset.')
param handlerSettings object
@description('Any other app settings; they win over handlerSettings, and every setting this file computes wins over them.')
param extraAppSettings object = {}

var isFlex = hostingPlan == 'FlexConsumption'
var outboundEnabled = !empty(outboundKeyVaultId) && !empty(outboundCertificateName)
// An exclusion path forces TLS renegotiation on the whole app (no TLS 1.3, no HTTP/2, bodies
// over about 100 KB refused), so there is none unless the parameter asks for it.
var clientCertExclusionPaths = healthClientCertificate == 'Excluded' ? '/api/health' : null
// The blob Elastic Premium runs (WEBSITE_RUN_FROM_PACKAGE); Flex deploys into the same container.
var packageBlobName = 'functionapp.zip'
var readerRole = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

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
  // checkov:skip=CKV_AZURE_18:HTTP/2 is off on purpose: client certificates over HTTP/2 are not documented to work on App Service (top of this file)
  // checkov:skip=CKV_AZURE_67:HTTP/2 is off on purpose, as for CKV_AZURE_18
  // checkov:skip=CKV_AZURE_15:checkov cannot read the per-plan siteConfig; minTlsVersion is 1.2 in both, asserted by tests/deploy/infra.rs
  // checkov:skip=CKV_AZURE_78:Flex has no FTP and rejects ftpsState; Elastic Premium sets it Disabled and the ftp publishing policy is off (tests/deploy/infra.rs)
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
    // HTTP/1.1 and no ftpsState on Flex: see "Site configuration" at the top of this file.
    siteConfig: isFlex ? {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: false
      remoteDebuggingEnabled: false
    } : {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: false
      remoteDebuggingEnabled: false
      ftpsState: 'Disabled'
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

// Reader on the site, for the handler's posture check: it reads clientCertEnabled,
// clientCertMode, clientCertExclusionPaths and httpsOnly back from ARM with this identity.
resource postureReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (clientCertPosture != 'off') {
  name: guid(site.id, identityPrincipalId, readerRole)
  scope: site
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRole)
  }
}

// Elastic Premium: the Key Vault certificate imported into the plan's webspace, where
// WEBSITE_LOAD_CERTIFICATES makes it appear as /var/ssl/private/<THUMBPRINT>.p12. Flex loads no
// such certificates, so it reads the certificate through a Key Vault reference instead.
resource outboundCertificate 'Microsoft.Web/certificates@2024-04-01' = if (outboundEnabled && !isFlex) {
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
// Flex takes the runtime from functionAppConfig and refuses these as app settings. Elastic
// Premium without an Azure Files share (which would need shared keys) must run the package from
// a blob URL, read with the app's identity.
var premiumOnlySettings = {
  FUNCTIONS_WORKER_RUNTIME: 'custom'
  FUNCTIONS_EXTENSION_VERSION: '~4'
  WEBSITE_RUN_FROM_PACKAGE: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}/${packageBlobName}'
  WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: identityId
}
var premiumSettings = isFlex ? {} : premiumOnlySettings
// The handler's front-end self-check: this site's id and the ARM endpoint of this cloud.
var postureSettings = {
  CLIENT_CERT_POSTURE: clientCertPosture
  CLIENT_CERT_POSTURE_SITE_ID: site.id
  CLIENT_CERT_POSTURE_ARM_ENDPOINT: environment().resourceManager
  CLIENT_CERT_POSTURE_IDENTITY_CLIENT_ID: identityClientId
}
// Flex: a versionless Key Vault reference, which App Service resolves with
// keyVaultReferenceIdentity and keeps following to the newest version; the handler reads the
// base64 PKCS#12 (empty password) from OUTBOUND_CLIENT_CERT_BASE64.
var flexOutboundSettings = {
  OUTBOUND_CLIENT_CERT_BASE64: '@Microsoft.KeyVault(SecretUri=${outboundKeyVaultUri}secrets/${outboundCertificateName}/)'
}
// Elastic Premium: by CN among every loaded certificate, so that a renewal (a new thumbprint,
// synced from Key Vault by the platform) needs no new provision; or pinned to today's thumbprint.
var outboundThumbprint = outboundEnabled && !isFlex ? outboundCertificate!.properties.thumbprint : ''
var premiumOutboundByName = {
  WEBSITE_LOAD_CERTIFICATES: '*'
  OUTBOUND_CLIENT_CERT_COMMON_NAME: outboundCertificateCommonName
}
var premiumOutboundByThumbprint = {
  WEBSITE_LOAD_CERTIFICATES: outboundThumbprint
  OUTBOUND_CLIENT_CERT_THUMBPRINT: outboundThumbprint
}
var premiumOutboundSettings = empty(outboundCertificateCommonName) ? premiumOutboundByThumbprint : premiumOutboundByName
var outboundSettings = outboundEnabled ? (isFlex ? flexOutboundSettings : premiumOutboundSettings) : {}

// Every app setting of the site, in one resource: `azd provision` writes exactly these, so a
// setting added by hand in the portal is gone after the next provision.
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
  // The Reader role first, so that the handler's first posture check does not start before it.
  dependsOn: [
    postureReader
  ]
  properties: union(handlerSettings, extraAppSettings, platformSettings, premiumSettings, postureSettings, outboundSettings)
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
output packageBlobName string = packageBlobName

// The storage account the Functions host needs (AzureWebJobsStorage) and the blob container
// that holds the deployment package. Shared-key access is off: the app's managed identity
// (and, for azd, the deploying principal: it uploads the Elastic Premium package) get data-plane
// roles instead.
param name string
param location string
param tags object = {}
param deploymentContainerName string
param identityPrincipalId string
@description('The principal running azd; empty for none.')
param userPrincipalId string = ''
@description('Its type, as azd reports it (AZURE_PRINCIPAL_TYPE): User, or ServicePrincipal in CI.')
@allowed([
  'User'
  'ServicePrincipal'
])
param userPrincipalType string = 'User'

var roles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:the function app reaches its storage over the public endpoint (no virtual network in this template); shared keys are off and access is by Entra role only
  // checkov:skip=CKV_AZURE_59:same reason as CKV_AZURE_35; no container allows anonymous access (allowBlobPublicAccess false)
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_GRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // The Flex Consumption host reaches the account over the public endpoint unless the app
      // is put in a virtual network; AzureServices keeps platform access working.
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: { enabled: true }
        file: { enabled: true }
        queue: { enabled: true, keyType: 'Account' }
        table: { enabled: true, keyType: 'Account' }
      }
    }
  }

  resource blobServices 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: { enabled: true, days: 7 }
      containerDeleteRetentionPolicy: { enabled: true, days: 7 }
    }

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: { publicAccess: 'None' }
    }
  }

  resource queueServices 'queueServices' = {
    name: 'default'
  }
}

resource identityRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in items(roles): {
    name: guid(storage.id, identityPrincipalId, role.value)
    scope: storage
    properties: {
      principalId: identityPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
    }
  }
]

resource userBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(storage.id, userPrincipalId, roles.blobDataOwner)
  scope: storage
  properties: {
    principalId: userPrincipalId
    principalType: userPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobDataOwner)
  }
}

output name string = storage.name
output deploymentContainerName string = deploymentContainerName

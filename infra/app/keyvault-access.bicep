// Read access to the outbound client certificate in an existing Key Vault (RBAC authorization):
// Key Vault Secrets User (a certificate's private key is read through its secret) and Key Vault
// Certificate User, for the app's managed identity and, when given, for the App Service
// resource provider that performs the import.
param keyVaultName string
param identityPrincipalId string
@description('The App Service resource provider\'s object id in this tenant; empty for none.')
param appServiceProviderPrincipalId string = ''

var roles = [
  '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
  'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba' // Key Vault Certificate User
]
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource identityAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in roles: {
    name: guid(vault.id, identityPrincipalId, role)
    scope: vault
    properties: {
      principalId: identityPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

resource providerAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in roles: if (!empty(appServiceProviderPrincipalId)) {
    name: guid(vault.id, appServiceProviderPrincipalId, role)
    scope: vault
    properties: {
      principalId: appServiceProviderPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

output keyVaultId string = vault.id

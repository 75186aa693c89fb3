// Read access to the outbound client certificate in an existing Key Vault (RBAC authorization),
// no wider than each plan needs. The vault may hold other secrets, so nothing is granted on the
// whole vault except what Learn documents for the App Service resource provider's import.
// - Flex Consumption: the app's identity resolves a Key Vault reference to the certificate's
//   secret, so it gets Key Vault Secrets User on that one secret.
// - Elastic Premium: the App Service resource provider imports the certificate into the plan,
//   so it gets Key Vault Certificate User (the one role Learn names for it); the app itself reads
//   the imported file and needs no Key Vault role.
param keyVaultName string
@description('The certificate (and so the secret of the same name) the app uses.')
param certificateName string
param identityPrincipalId string
@allowed([
  'FlexConsumption'
  'ElasticPremium'
])
param hostingPlan string
@description('The App Service resource provider\'s object id in this tenant; empty for none.')
param appServiceProviderPrincipalId string = ''

var isFlex = hostingPlan == 'FlexConsumption'
var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var certificateUser = 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName

  resource secret 'secrets' existing = {
    name: certificateName
  }
}

resource identitySecretAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (isFlex) {
  name: guid(vault::secret.id, identityPrincipalId, secretsUser)
  scope: vault::secret
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
  }
}

resource providerImportAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!isFlex && !empty(appServiceProviderPrincipalId)) {
  name: guid(vault.id, appServiceProviderPrincipalId, certificateUser)
  scope: vault
  properties: {
    principalId: appServiceProviderPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', certificateUser)
  }
}

output keyVaultId string = vault.id
output keyVaultUri string = vault.properties.vaultUri

application_databases = {
  "keycloak" = {
    "database_name" = "keycloak"
    "username"      = "keycloak_user"
  }
  "backstage" = { database_name = "keycloak", username = "backstage_user", access_level = "reader" }
}

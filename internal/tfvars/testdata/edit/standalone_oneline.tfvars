application_databases = { keycloak = { database_name = "keycloak", username = "keycloak_user" } }

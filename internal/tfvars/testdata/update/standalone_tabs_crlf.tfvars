aws_region = "eu-west-2"
application_databases = {
	keycloak = {
		database_name = "keycloak"
		username = "keycloak_user"
	}
	keycloak_ro = {
		database_name = "keycloak"
		username = "keycloak_ro"
		access_level = "editor"
	}
}

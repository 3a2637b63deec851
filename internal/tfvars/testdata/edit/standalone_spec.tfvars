# Dev RDS instance (standalone)
aws_region      = "eu-west-2"
master_username = "platform_admin"
database_name   = "platform"

application_databases = {
  # Identity provider
  keycloak = {
    database_name = "keycloak"
    username      = "keycloak_user"
  },
  backstage = {
    database_name = "backstage"
    username      = "backstage_user" # portal
  }
}

tags = {
  team = "platform"
}

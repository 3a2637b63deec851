# Standalone RDS for the dev environment (envs/dev-rds).
# Application databases are added by the create-rds-database workflow.

aws_region      = "eu-west-2"
environment     = "dev"
identifier      = "goldenpath-platform-db-dev"
instance_class  = "db.t3.micro"
database_name   = "platform"
master_username = "platform_admin"

application_databases = {
  keycloak = {
    database_name = "keycloak"
    username      = "keycloak_user"
  },
  backstage = {
    database_name = "backstage"
    username      = "backstage_user"
  }
}

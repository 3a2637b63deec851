# dev cluster. RDS for dev runs standalone in envs/dev-rds, so the coupled
# block below is disabled and auto mode picks standalone.
aws_region   = "eu-west-2"
cluster_name = "goldenpath-dev"

rds_config = {
  enabled         = false
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
}

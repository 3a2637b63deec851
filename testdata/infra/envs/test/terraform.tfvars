# test cluster with its RDS instance coupled into the same root module.
aws_region   = "eu-west-2"
cluster_name = "goldenpath-test"

rds_config = {
  enabled         = true
  instance_class  = "db.t3.small"
  database_name   = "platform"
  master_username = "platform_admin"
  application_databases = {
    "keycloak" = { database_name = "keycloak", username = "keycloak_user" }
    # Backstage creates plugin databases at start-up: its role has CREATEDB.
    backstage = {
      database_name = "backstage"
      username      = "backstage_user"
    }
  }
}

# Dev platform: EKS + RDS together
cluster_name = "goldenpath-dev"
aws_region   = "eu-west-2"

rds_config = {
  enabled         = true
  instance_class  = "db.t3.micro" # small
  master_username = "platform_admin"
  database_name   = "platform"
  application_databases = {
    "keycloak" = {
      database_name = "keycloak"
      username      = "keycloak_user"
    }
  }
  backup_retention_days = 7
}

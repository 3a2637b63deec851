rds_config = {
  enabled         = true
  master_username = "platform_admin"
  application_databases = {
    "payments" = {
      "database_name" = "payments"
      "username"      = "payments_user"
      "secret_name"   = "shared/payments"
    }
    "payments_ro" = {
      "database_name" = "payments"
      "username"      = "payments_ro"
      "access_level"  = "reader"
    }
  }
}

# Dev RDS instance (standalone)
aws_region      = "eu-west-2"
master_username = "platform_admin"

application_databases = {
  # Orders service: owner
  orders = {
    database_name = "orders"
    username      = "orders_user" # the service
  },
  # BI dashboards read orders
  orders_bi = {
    database_name = "orders"
    username      = "orders_bi"
    access_level  = "editor" # until the export job moves
  },
  orders_etl = { database_name = "orders", username = "orders_etl", access_level = "reader" },
  orders_audit = { database_name = "orders", username = "orders_audit", access_level = "reader", retired = false, },
  keycloak = {
    database_name = "keycloak"
    username      = "keycloak_user"
    /* block comment */
  }
  orders_reports = {
    database_name = "orders",
    username      = "orders_reports",
    access_level  = "reader",
  }
}

tags = {
  team = "platform"
}

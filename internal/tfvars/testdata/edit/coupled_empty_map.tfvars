rds_config = {
  enabled = true
  application_databases = {
    # none yet
  }
}

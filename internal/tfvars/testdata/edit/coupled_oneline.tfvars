rds_config = { enabled = true, instance_class = "db.t3.micro" }

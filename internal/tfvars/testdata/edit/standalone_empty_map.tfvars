aws_region = "eu-west-2"
application_databases = {}

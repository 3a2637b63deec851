# Reference: the application secrets of application_databases, created by
# Terraform (the path SPEC's provision flow assumes: make rds-apply, then
# rds-provision provision). One aws_secretsmanager_secret per entry, at
# <prefix>/<env>/<key>/postgres, holding {"username", "password", "dbname"}.
#
# The password never reaches the Terraform state or plan: it comes from an
# ephemeral resource and is written through the write-only argument
# secret_string_wo (Terraform >= 1.11 and an AWS provider with write-only
# arguments; checked with hashicorp/aws 5.100.0). With an older Terraform,
# a random_password plus secret_string works too, but then every password
# is in the state in clear: prefer rds-provision --create-missing-secrets
# (README, "App secrets"), or create_values = false below.
#
# After the first apply, rotation (rds-provision rotate or the rotation
# function) owns the value: secret_string_wo_version stays 1 so Terraform
# never writes it again.

terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.90"
    }
  }
}

variable "environment" {
  type = string
}

variable "secret_prefix" {
  type    = string
  default = "goldenpath"
}

# The same variable as the RDS module's; extra attributes of an entry
# (access_level, secret_name, initial_schema) are optional here.
variable "application_databases" {
  type = map(object({
    database_name = string
    username      = string
    secret_name   = optional(string)
  }))
}

# Owning team of each entry (the catalog's metadata.owner), for the tags.
variable "owners" {
  type    = map(string)
  default = {}
}

variable "kms_key_id" {
  description = "KMS key for the secrets; null uses aws/secretsmanager"
  type        = string
  default     = null
}

variable "create_values" {
  description = "false: Terraform creates only the secrets (tags, key, policy) and rds-provision provision --create-missing-secrets writes the first value"
  type        = bool
  default     = true
}

resource "aws_secretsmanager_secret" "app" {
  for_each = var.application_databases

  name        = coalesce(each.value.secret_name, "${var.secret_prefix}/${var.environment}/${each.key}/postgres")
  description = "PostgreSQL credentials of ${each.value.username}"
  kms_key_id  = var.kms_key_id
  tags = {
    environment = var.environment
    app         = each.key
    owner       = lookup(var.owners, each.key, "unknown")
    managed-by  = "terraform"
  }
}

# Letters and digits only: safe in every client, URL and connection string.
ephemeral "aws_secretsmanager_random_password" "app" {
  for_each = var.create_values ? var.application_databases : {}

  password_length            = 40
  exclude_punctuation        = true
  include_space              = false
  require_each_included_type = true
}

resource "aws_secretsmanager_secret_version" "app" {
  for_each = var.create_values ? var.application_databases : {}

  secret_id = aws_secretsmanager_secret.app[each.key].id
  secret_string_wo = jsonencode({
    username = each.value.username
    password = ephemeral.aws_secretsmanager_random_password.app[each.key].random_password
    dbname   = each.value.database_name
  })
  secret_string_wo_version = 1

  lifecycle {
    # Rotation moves AWSCURRENT to newer versions.
    ignore_changes = [version_stages]
  }
}

output "secret_arns" {
  value = { for k, s in aws_secretsmanager_secret.app : k => s.arn }
}

# Reference: rds-provision as the Secrets Manager rotation function of the
# application secrets (README, "Rotation function"). Build the package with
# make lambda (bin/lambda/rds-provision-lambda.zip: the binary bootstrap for
# provided.al2023, arm64). Use this or the rds-secret-rotation.yml
# workflow for a secret, not both: the workflow skips secrets whose
# rotation Secrets Manager runs.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
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

variable "application_databases" {
  type = map(object({
    database_name = string
    username      = string
    secret_name   = optional(string)
  }))
}

# Catalog risk of each entry: high and access rotate every 14 days, the
# rest every 30 (SPEC's risk table).
variable "risks" {
  type    = map(string)
  default = {}
}

variable "master_secret_arn" {
  description = "The RDS master secret (an RDS-managed rds!db- secret works)"
  type        = string
}

variable "db_instance" {
  description = "RDS instance identifier, for DescribeDBInstances when the master secret has no endpoint"
  type        = string
  default     = ""
}

variable "package" {
  description = "bin/lambda/rds-provision-lambda.zip from make lambda"
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets that reach the RDS instance and Secrets Manager (a VPC endpoint or a NAT)"
  type        = list(string)
}

variable "security_group_ids" {
  description = "Allowed by the RDS security group on the PostgreSQL port"
  type        = list(string)
}

variable "kms_key_arns" {
  description = "Customer-managed KMS keys of the secrets, if any"
  type        = list(string)
  default     = []
}

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  secret_names = { for k, v in var.application_databases : k => coalesce(v.secret_name, "${var.secret_prefix}/${var.environment}/${k}/postgres") }
  secret_arns  = [for n in values(local.secret_names) : "arn:aws:secretsmanager:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:secret:${n}-*"]
}

resource "aws_iam_role" "rotation" {
  name = "rds-provision-rotation-${var.environment}"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

# ENIs in the VPC and CloudWatch Logs.
resource "aws_iam_role_policy_attachment" "vpc" {
  role       = aws_iam_role.rotation.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy" "rotation" {
  role = aws_iam_role.rotation.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Effect   = "Allow"
        Action   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]
        Resource = local.secret_arns
      },
      { Effect = "Allow", Action = "secretsmanager:GetRandomPassword", Resource = "*" },
      { Effect = "Allow", Action = ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"], Resource = var.master_secret_arn },
      { Effect = "Allow", Action = "rds:DescribeDBInstances", Resource = "*" },
      ], length(var.kms_key_arns) == 0 ? [] : [
      { Effect = "Allow", Action = ["kms:Decrypt", "kms:GenerateDataKey"], Resource = var.kms_key_arns },
    ])
  })
}

resource "aws_lambda_function" "rotation" {
  function_name    = "rds-provision-rotation-${var.environment}"
  role             = aws_iam_role.rotation.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["arm64"]
  filename         = var.package
  source_code_hash = filebase64sha256(var.package)
  # Above RDSP_LOCK_TIMEOUT: a step may wait for a provisioning run's lock.
  timeout     = 300
  memory_size = 256

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  environment {
    variables = {
      RDSP_MASTER_SECRET = var.master_secret_arn
      RDSP_DB_INSTANCE   = var.db_instance
      RDSP_SSLMODE       = "verify-full"
      # make lambda packs the RDS CA bundle beside bootstrap.
      RDSP_SSLROOTCERT  = "/var/task/rds-global-bundle.pem"
      RDSP_LOCK_TIMEOUT = "4m"
    }
  }
}

resource "aws_lambda_permission" "secretsmanager" {
  statement_id   = "SecretsManagerRotation"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.rotation.function_name
  principal      = "secretsmanager.amazonaws.com"
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_secretsmanager_secret_rotation" "app" {
  for_each = local.secret_names

  secret_id           = each.value
  rotation_lambda_arn = aws_lambda_function.rotation.arn
  rotation_rules {
    automatically_after_days = contains(["high", "access"], lookup(var.risks, each.key, "high")) ? 14 : 30
  }
  depends_on = [aws_lambda_permission.secretsmanager]
}

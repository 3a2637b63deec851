aws_region = "eu-west-2"
# no databases yet
"""The emulated account's names: region, account, bucket and the prefix of every resource."""

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "automl-lite-local"
PREFIX = "automl-lite"

from tests.platform_servers import mlflow_server, s3_server  # noqa: F401  (until tests/servers.py lands)

"""The local S3 server (SeaweedFS): real S3 API, several side by side, stopped cleanly."""

from __future__ import annotations

import boto3
import pytest

from infra.local_s3 import LocalS3


def client(server: LocalS3):
    env = server.env()
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


@pytest.mark.slow
def test_two_servers_side_by_side_keep_their_own_data(tmp_path):
    with LocalS3(tmp_path / "one") as one, LocalS3(tmp_path / "two") as two:
        one.create_bucket("first")
        two.create_bucket("second")
        client(one).put_object(Bucket="first", Key="a.txt", Body=b"hello")
        assert client(one).get_object(Bucket="first", Key="a.txt")["Body"].read() == b"hello"
        assert [b["Name"] for b in client(two).list_buckets()["Buckets"]] == ["second"]
    assert one.process.poll() is not None and two.process.poll() is not None

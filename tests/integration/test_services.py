"""The session's services, reached the way operators reach them: Airflow hooks and connections."""

import pytest

pytestmark = pytest.mark.integration


def test_postgres_hook_reaches_the_session_database(airflow_env, databases):
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    assert (
        PostgresHook(postgres_conn_id="transform_pg").get_first("SELECT current_database()")[0]
        == databases["transform"]
    )


def test_mysql_hook_reaches_the_session_mariadb_database(airflow_env, databases):
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    hook = MySqlHook(mysql_conn_id="stage_mysql")
    assert hook.get_first("SELECT DATABASE()")[0] == databases["stage"]
    assert "MariaDB" in hook.get_first("SELECT VERSION()")[0] or hook.get_first("SELECT @@version_comment")[0]


def test_aws_hooks_reach_moto_s3_sns_dynamodb(airflow_env, moto_server):
    from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.amazon.aws.hooks.sns import SnsHook

    s3 = S3Hook(aws_conn_id="aws_default")
    s3.create_bucket("recon-landing")
    s3.load_string("msisdn\n62811000001\n", key="cohort/C1/subscribers.csv", bucket_name="recon-landing")
    # Read back through a plain client on the same endpoint: proves the hook hit moto, not AWS.
    body = moto_server.client("s3").get_object(Bucket="recon-landing", Key="cohort/C1/subscribers.csv")["Body"].read()
    assert body == b"msisdn\n62811000001\n"

    topic = SnsHook(aws_conn_id="aws_default").get_conn().create_topic(Name="recon-alerts")["TopicArn"]
    assert topic.startswith("arn:aws:sns:us-east-1:")
    table = DynamoDBHook(aws_conn_id="aws_default").get_conn()
    assert table.meta.client.meta.endpoint_url == moto_server.endpoint_url

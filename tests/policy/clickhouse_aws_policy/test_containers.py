"""containers: credentials stay out of ECS containers' environment; a task's public IP is no-public-ip-address's."""

from __future__ import annotations

import json

import pytest
from pulumi.runtime.rpc import UNKNOWN

TASK = "aws:ecs/taskDefinition:TaskDefinition"
POLICY = "ecs-task-no-plaintext-secrets"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-key-AbCdEf"


def task(*environment: dict, secrets: list | None = None) -> dict:
    container = {"name": "agent", "image": "prom/prometheus:v3.5.0", "environment": list(environment)}
    if secrets is not None:
        container["secrets"] = secrets
    return {"family": "agent", "containerDefinitions": json.dumps([container])}


@pytest.mark.parametrize("name,value", [
    ("DB_PASSWORD", "hunter2hunter2"),
    ("CLICKHOUSE_API_KEY_SECRET", "4b1dKeySecret"),
    ("API_KEY", "abc123"),
    ("SIGNING_KEY", "s1gn1ngk3y"),
    ("github_token", "ghp_x"),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
    ("ADMIN_PASSWORD", None),
])
def test_a_credential_in_the_environment_blocks(pack, name, value) -> None:
    messages = pack.blocking(POLICY, TASK, task({"name": name, "value": value}))
    assert len(messages) == 1 and name in messages[0] and "secrets" in messages[0]
    # The message names the variable, never its value.
    assert not (value and value in messages[0])


@pytest.mark.parametrize("entry", [
    {"name": "PROMETHEUS_CONFIG", "value": "global: {}"},
    {"name": "CLICKHOUSE_API_KEY_ID", "value": "AbCdEf"},
    {"name": "SECRET_ARN", "value": SECRET_ARN},
    {"name": "KMS_KEY", "value": "alias/prod-metrics"},
    {"name": "DB_PASSWORD", "value": ""},
])
def test_configuration_and_references_pass(pack, entry) -> None:
    assert pack.messages(POLICY, TASK, task(entry)) == []


def test_credentials_passed_as_secrets_pass(pack) -> None:
    secrets = [{"name": "CLICKHOUSE_API_KEY_SECRET", "valueFrom": f"{SECRET_ARN}:key_secret::"}]
    assert pack.messages(POLICY, TASK, task(secrets=secrets)) == []


def test_every_container_is_read(pack) -> None:
    containers = [{"name": "app", "environment": []},
                  {"name": "sidecar", "environment": [{"name": "TOKEN", "value": "t0k3n"}]}]
    messages = pack.blocking(POLICY, TASK, {"containerDefinitions": json.dumps(containers)})
    assert len(messages) == 1 and "'sidecar'" in messages[0]


def test_unreadable_definitions_block_and_unknown_ones_wait(pack) -> None:
    assert pack.blocking(POLICY, TASK, {"containerDefinitions": "[{not json"})
    # Built from other resources' outputs: nothing to read until the update, and nothing written literally.
    assert pack.messages(POLICY, TASK, {"containerDefinitions": UNKNOWN}) == []


@pytest.mark.parametrize("type_", ["aws:ecs/service:Service", "aws:ecs/taskSet:TaskSet"])
@pytest.mark.parametrize("assign,blocked", [(True, True), (UNKNOWN, True), (False, False), (None, False)])
def test_a_public_ip_on_ecs_tasks_blocks(pack, type_, assign, blocked) -> None:
    network = {"subnets": ["subnet-0123456789abcdef0"], "securityGroups": ["sg-0123456789abcdef0"]}
    if assign is not None:
        network["assignPublicIp"] = assign
    props = {"name": "agent", "networkConfiguration": network}
    assert bool(pack.blocking("no-public-ip-address", type_, props)) is blocked

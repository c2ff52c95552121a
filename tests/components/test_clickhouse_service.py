"""ClickHouseService: PrivateLink-only service, password as a hash, plaintext only inside a secret."""

from __future__ import annotations

import json

import pytest

from components.clickhouse_service import ClickHouseService, ClickHouseServiceArgs, clickhouse_password_hash
from scripts.offline.engine import run_inline, run_program
from stack_config.clickhouse import BackupConfig, ClickHouseConfig
from stack_config.secret import SecretConfig
from tests.helpers import by_name, generated_password, is_secret_on_wire, plain_wire_strings

SERVICE = "clickhouse:index/service:Service"


def test_hash_matches_clickhouse_cloud_api_algorithm():
    # echo -n "password" | sha256sum | xxd -r -p | base64, the algorithm ClickHouse's API documents.
    assert clickhouse_password_hash("password") == "XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg="


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_service_is_private_same_region_and_has_idle_scaling_set(request, stack):
    run = request.getfixturevalue(f"{stack}_run")
    service = run.one(SERVICE).inputs
    assert service["ipAccesses"] == []
    assert service["cloudProvider"] == "aws"
    assert service["region"] == run.aws_region
    assert "idleScaling" in service, "idle scaling must always be explicit"
    assert service["name"] == f"clickhouse-aws-{stack}"
    assert service["tags"]["stack"] == stack


def test_dev_is_small_and_idles(dev_run):
    service = dev_run.one(SERVICE).inputs
    assert (service["idleScaling"], service["idleTimeoutMinutes"]) == (True, 15)
    assert (service["minReplicaMemoryGb"], service["maxReplicaMemoryGb"], service["numReplicas"]) == (8, 16, 2)
    assert service["backupConfiguration"] == {"backupPeriodInHours": 24, "backupRetentionPeriodInHours": 24}


def test_prod_is_always_on_with_a_daily_backup_window(prod_run):
    service = prod_run.one(SERVICE).inputs
    assert service["idleScaling"] is False and "idleTimeoutMinutes" not in service
    assert (service["minReplicaMemoryGb"], service["maxReplicaMemoryGb"], service["numReplicas"]) == (16, 64, 3)
    # A start time replaces the period: ClickHouse refuses both together.
    assert service["backupConfiguration"] == {"backupStartTime": "03:00", "backupRetentionPeriodInHours": 72}


def test_clickhouse_receives_only_the_secret_hash_of_the_password(dev_run):
    service = dev_run.one(SERVICE)
    assert service.inputs["passwordHash"] == clickhouse_password_hash(generated_password(dev_run))
    assert is_secret_on_wire(service, "passwordHash")
    assert not {"password", "passwordWo", "doubleSha1PasswordHash"} & set(service.inputs)


def test_secret_holds_the_connection_details_as_a_secret(dev_run):
    version = dev_run.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret_on_wire(version, "secretString")
    document = json.loads(version.inputs["secretString"])
    assert document == {
        "engine": "clickhouse",
        "username": "default",
        "password": generated_password(dev_run),
        "host": dev_run.outputs["private_dns_hostname"],
        "port": 8443,
        "native_port": 9440,
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_password_never_appears_outside_a_secret(request, stack):
    run = request.getfixturevalue(f"{stack}_run")
    password, digest = generated_password(run), clickhouse_password_hash(generated_password(run))
    leaks = [where for where, text in plain_wire_strings(run) if password in text or digest in text]
    assert leaks == []
    assert not any(password in json.dumps(v) for v in run.outputs.values())


def test_dev_secret_can_be_deleted_at_once_and_uses_the_aws_managed_key(dev_run):
    secret = dev_run.one("aws:secretsmanager/secret:Secret").inputs
    assert secret["name"] == "clickhouse-aws/dev/clickhouse/default"
    assert secret["recoveryWindowInDays"] == 0
    assert "kmsKeyId" not in secret
    assert "clickhouse_password_kms_key_id" not in dev_run.outputs


def test_prod_secret_is_recoverable_and_under_its_own_customer_key(prod_run):
    secret = by_name(prod_run, "aws:secretsmanager/secret:Secret")["clickhouse-password"].inputs
    key = by_name(prod_run, "aws:kms/key:Key")["secrets"]
    assert secret["recoveryWindowInDays"] == 30
    assert secret["kmsKeyId"] == key.outputs["arn"] == prod_run.outputs["clickhouse_password_kms_key_id"]


def test_a_given_key_arn_is_used_without_creating_a_key():
    from scripts.offline.engine import run_program

    arn = "arn:aws:kms:us-east-1:123456789012:key/0b7a1d2c-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
    run = run_program("dev", {"clickhouse-aws:passwordKmsKey": arn})
    assert run.one("aws:secretsmanager/secret:Secret").inputs["kmsKeyId"] == arn
    assert "secrets" not in by_name(run, "aws:kms/key:Key")
    assert run.outputs["clickhouse_password_kms_key_id"] == arn


def test_outputs_derived_from_the_password_are_pulumi_secrets():
    cfg = ClickHouseConfig(
        service_name="unit", region="us-east-1", idle_scaling=True, idle_timeout_minutes=5, min_replica_memory_gb=8,
        max_replica_memory_gb=8, num_replicas=1, release_channel="default",
        backup=BackupConfig(retention_hours=24, period_hours=24, start_time=None),
    )

    def build():
        component = ClickHouseService("unit", ClickHouseServiceArgs(
            config=cfg, secret=SecretConfig(0, False, None), secret_name="unit/password",
            secret_kms_key_arn=None, protect=False, tags={},
        ))
        return {
            "password_hash": component.service.password_hash,
            "secret_string": component.password_secret_version.secret_string,
            "hostname": component.private_dns_hostname,
        }

    resolved, _ = run_inline(build)
    assert resolved["password_hash"].secret
    assert resolved["secret_string"].secret
    assert not resolved["hostname"].secret, "non-sensitive values stay readable"


PASSWORD = "random:index/randomPassword:RandomPassword"


def test_raising_the_password_version_changes_the_keepers_so_the_password_is_replaced(dev_run):
    # Version 1 (the default) sets no keepers: a stack deployed before rotation existed keeps its password.
    assert "keepers" not in dev_run.one(PASSWORD).inputs
    keepers = {}
    for version in (2, 3):
        run = run_program("dev", {"clickhouse-aws:clickhousePasswordVersion": version})
        assert run.error is None, run.error
        keepers[version] = run.one(PASSWORD).inputs["keepers"]
        # The rotated password reaches ClickHouse only as a secret hash and Secrets Manager only as a secret.
        password = run.one(PASSWORD).urn
        service, version_resource = run.one(SERVICE), run.one("aws:secretsmanager/secretVersion:SecretVersion")
        assert password in service.property_dependencies["passwordHash"]
        assert password in version_resource.property_dependencies["secretString"]
        assert is_secret_on_wire(service, "passwordHash") and is_secret_on_wire(version_resource, "secretString")
        assert not [where for where, text in plain_wire_strings(run) if generated_password(run) in text]
        # Every other resource keeps its URN: a rotation replaces the password, nothing else.
        assert {r.urn for r in run.resources} == {r.urn for r in dev_run.resources}
    assert keepers == {2: {"version": "2"}, 3: {"version": "3"}}

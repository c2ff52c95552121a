"""KmsKey: rotation, a long deletion window, an alias, and a policy with no anonymous use."""

from __future__ import annotations

import json

from scripts.offline.engine import OfflineMocks
from tests.helpers import by_name


def test_keys_rotate_and_keep_the_longest_deletion_window(prod_run):
    keys = prod_run.of_type("aws:kms/key:Key")
    assert keys
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30


def test_root_administers_and_only_named_services_use_the_logs_key(dev_run):
    key = by_name(dev_run, "aws:kms/key:Key")["logs"]
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert statements["AccountRootAdministers"]["Principal"] == {"AWS": f"arn:aws:iam::{OfflineMocks.ACCOUNT_ID}:root"}
    logs = statements["AllowCloudWatchLogsInThisAccount"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        f"arn:aws:logs:us-east-1:{OfflineMocks.ACCOUNT_ID}:log-group:*"
    )
    for statement in statements.values():
        assert statement["Principal"] != "*" and statement["Principal"] != {"AWS": "*"}


def test_every_key_has_a_stack_scoped_alias(prod_run):
    keys = {k.outputs["keyId"]: k.name for k in prod_run.of_type("aws:kms/key:Key")}
    aliases = {a.inputs["targetKeyId"]: a.inputs["name"] for a in prod_run.of_type("aws:kms/alias:Alias")}
    assert {keys[key_id]: alias for key_id, alias in aliases.items()} == {
        name: f"alias/clickhouse-aws-prod-{name}" for name in keys.values()
    }

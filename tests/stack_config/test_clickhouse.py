"""The ClickHouse service config: sizes, idling, release channel, backups, and a region that must be the stack's."""

from __future__ import annotations

import pytest

from stack_config.clickhouse import BackupConfig


@pytest.mark.parametrize(("overrides", "key_name", "expected"), [
    ({"clickhouseRegion": "eu-west-1"}, "clickhouseRegion",
     "is 'eu-west-1' but aws:region is 'us-east-1': PrivateLink here is same-region only; use a separate regional stack for eu-west-1"),
    ({"clickhouseRegion": "us-eastt-1"}, "clickhouseRegion",
     "'us-eastt-1' is not an AWS region the AWS provider knows, such as us-east-1; did you mean 'us-east-1'?"),
    ({"idleTimeoutMinutes": 4}, "idleTimeoutMinutes", "4 is below the minimum of 5: ClickHouse idles a service after at least 5 minutes"),
    ({"idleTimeoutMinutes": 1441}, "idleTimeoutMinutes", "1441 is above the maximum of 1440"),
    ({"minReplicaMemoryGb": 32, "maxReplicaMemoryGb": 16}, "minReplicaMemoryGb", "32 GiB is above maxReplicaMemoryGb (16 GiB)"),
    ({"minReplicaMemoryGb": 10}, "minReplicaMemoryGb", "10 is not a multiple of 4: ClickHouse sizes replicas in steps of 4 GiB"),
    ({"maxReplicaMemoryGb": 18}, "maxReplicaMemoryGb", "18 is not a multiple of 4"),
    ({"maxReplicaMemoryGb": 360}, "maxReplicaMemoryGb", "360 is above the maximum of 356: ClickHouse sizes replicas in steps of 4 GiB from 8 to 356 GiB"),
    ({"numReplicas": 0}, "numReplicas", "0 is below the minimum of 1"),
    ({"numReplicas": 21}, "numReplicas", "21 is above the maximum of 20: the ClickHouse Cloud API accepts 1 to 20 replicas"),
    ({"releaseChannel": "beta"}, "releaseChannel", "'beta' is not one of default, fast, slow"),
    ({"backupStartTime": "25:00"}, "backupStartTime", "'25:00' is not a whole UTC hour as HH:00, e.g. 03:00"),
    # The provider starts backups on the hour only.
    ({"backupStartTime": "03:30"}, "backupStartTime", "'03:30' is not a whole UTC hour as HH:00"),
    ({"backupPeriodHours": 10}, "backupPeriodHours", "10 is not one of 6, 8, 12, 16, 20, 24, 36, 48: the periods ClickHouse offers"),
    ({"backupRetentionHours": 0}, "backupRetentionHours", "0 is not one of 24, 48, 72, 96, 120, 144, 168, 336, 504, 672, 720"),
    ({"backupRetentionHours": 200}, "backupRetentionHours", "200 is not one of 24, 48, 72"),
    # A start time means daily backups: another period beside it is a contradiction the provider refuses.
    ({"backupStartTime": "03:00", "backupPeriodHours": 12}, "backupPeriodHours",
     "12 cannot go with backupStartTime '03:00': a start time means one backup a day"),
    # A period of the wrong kind is reported as such, once, even beside a start time.
    ({"backupStartTime": "03:00", "backupPeriodHours": 0}, "backupPeriodHours", "0 is not one of 6, 8, 12"),
    ({"serviceName": "bad/name"}, "serviceName", "'bad/name' is not a service name of 1-50 letters"),
])
def test_bad_service_input_is_one_message_naming_the_key(problem, overrides, key_name, expected):
    assert expected in problem(key_name, overrides)


def test_memory_below_8_breaks_two_facts_and_says_both(problems):
    assert problems({"minReplicaMemoryGb": 4}) == [
        "clickhouse-aws:minReplicaMemoryGb: 4 is below the minimum of 8: ClickHouse sizes replicas in steps of 4 GiB from 8 to 356 GiB",
    ]
    assert problems({"minReplicaMemoryGb": 6}) == [
        "clickhouse-aws:minReplicaMemoryGb: 6 is below the minimum of 8: ClickHouse sizes replicas in steps of 4 GiB from 8 to 356 GiB",
        "clickhouse-aws:minReplicaMemoryGb: 6 is not a multiple of 4: ClickHouse sizes replicas in steps of 4 GiB from 8 to 356 GiB",
    ]


def test_the_default_service_name_is_derived_from_the_stack_and_checked_too(load, problems):
    assert load().clickhouse.service_name == "clickhouse-aws-dev"
    (line,) = problems({"serviceName": "x" * 51})
    assert line.startswith("clickhouse-aws:serviceName: 'xxx")
    assert load({"clickhouseRegion": "us-east-1"}).clickhouse.region == "us-east-1"


def test_a_start_time_replaces_the_backup_period(load):
    assert load(stack="prod").clickhouse.backup == BackupConfig(retention_hours=72, period_hours=None, start_time="03:00")
    assert load().clickhouse.backup == BackupConfig(retention_hours=24, period_hours=24, start_time=None)


@pytest.mark.parametrize("overrides", [
    {"backupPeriodHours": 48, "backupRetentionHours": 720},
    {"backupStartTime": "00:00", "backupPeriodHours": 24},
    {"minReplicaMemoryGb": 356, "maxReplicaMemoryGb": 356, "numReplicas": 20, "idleTimeoutMinutes": 1440},
])
def test_the_providers_limits_themselves_pass(load, overrides):
    load(overrides)

"""The ClickHouse Cloud service's config and the checks that relate its keys to each other and to the stack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from stack_config.keys import ConfigReader


@dataclass(frozen=True)
class BackupConfig:
    retention_hours: int
    period_hours: Optional[int]
    start_time: Optional[str]


@dataclass(frozen=True)
class ClickHouseConfig:
    service_name: str
    region: str
    idle_scaling: bool
    idle_timeout_minutes: int
    min_replica_memory_gb: int
    max_replica_memory_gb: int
    num_replicas: int
    release_channel: str
    backup: BackupConfig
    mysql_interface: bool = False


def read_clickhouse(r: ConfigReader, stack: str, aws_region: str) -> ClickHouseConfig:
    # The provider reads its organization itself; read here only so a malformed one is reported with the rest.
    r.get("clickhouse:organizationId")
    name = r.get_or("serviceName", f"{r.project}-{stack}", f"the default, derived from the stack name {stack!r}")
    region = r.get("clickhouseRegion") or aws_region
    r.check(region == aws_region or not r.valid("clickhouseRegion"), "clickhouseRegion",
            f"is {region!r} but aws:region is {aws_region!r}: PrivateLink here is same-region only; "
            f"use a separate regional stack for {region}")
    low, high = r.get("minReplicaMemoryGb"), r.get("maxReplicaMemoryGb")
    r.check(low <= high, "minReplicaMemoryGb", f"{low} GiB is above maxReplicaMemoryGb ({high} GiB)")
    start, period = r.get("backupStartTime") or None, r.get("backupPeriodHours")
    # The provider refuses a period beside a start time: a start time means one backup a day, which the period's
    # default (24) already says, so only another period is a contradiction.
    r.check(not start or period == 24 or not r.valid("backupPeriodHours"), "backupPeriodHours",
            f"{period} cannot go with backupStartTime {start!r}: a start time means one backup a day; "
            "remove backupPeriodHours (or set it to 24), or remove backupStartTime to back up every "
            f"{period} hours")
    return ClickHouseConfig(
        service_name=name,
        region=region,
        idle_scaling=r.get("idleScaling"),
        # The provider requires no timeout when idle scaling is off; the service component then sends none.
        idle_timeout_minutes=r.get("idleTimeoutMinutes"),
        min_replica_memory_gb=low,
        max_replica_memory_gb=high,
        num_replicas=r.get("numReplicas"),
        release_channel=r.get("releaseChannel"),
        # ClickHouse takes either a period or a daily start time, never both.
        backup=BackupConfig(r.get("backupRetentionHours"), None if start else period, start),
        mysql_interface=r.get("clickhouseMysqlInterface"),
    )

"""Observability config: who the alarm topic notifies, the alarms' thresholds and periods, and the opt-in ClickHouse
Cloud metrics agent, with the checks that relate them to the rest of the stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from stack_config.byoc import ByocConfig
from stack_config.keys import ConfigReader
from stack_config.network import NetworkConfig

# The interface endpoint the metrics agent remote-writes through; BYOC must not declare a second one in the VPC.
APS_WORKSPACES_ENDPOINT = "aps-workspaces"


@dataclass(frozen=True)
class AlarmConfig:
    emails: tuple[str, ...]
    https_endpoints: tuple[str, ...]
    period_seconds: int
    evaluation_periods: int
    datapoints_to_alarm: int
    endpoint_packets_dropped: int
    endpoint_resets: int
    nat_port_allocation_errors: int
    nat_packets_dropped: int


@dataclass(frozen=True)
class MetricsConfig:
    """The ClickHouse Cloud metrics agent. The API key is secret: kept out of repr and wrapped as a secret Output
    wherever it is used."""

    organization_id: str
    api_key_id: str = field(repr=False)
    api_key_secret: str = field(repr=False)
    scrape_interval_seconds: int
    log_retention_days: int


@dataclass(frozen=True)
class ObservabilityConfig:
    alarms: AlarmConfig
    # None unless metricsEnabled is true.
    metrics: Optional[MetricsConfig] = None


def read_observability(r: ConfigReader, network: NetworkConfig, byoc: Optional[ByocConfig]) -> ObservabilityConfig:
    return ObservabilityConfig(_read_alarms(r), _read_metrics(r, network, byoc))


def _read_alarms(r: ConfigReader) -> AlarmConfig:
    periods, datapoints = r.get("alarmEvaluationPeriods"), r.get("alarmDatapointsToAlarm")
    r.check(datapoints <= periods, "alarmDatapointsToAlarm",
            f"{datapoints} is more than alarmEvaluationPeriods ({periods}): an alarm cannot find more breaching "
            "periods than it looks at; lower it or raise alarmEvaluationPeriods")
    return AlarmConfig(
        emails=tuple(r.get("alarmEmails")),
        https_endpoints=tuple(r.get("alarmHttpsEndpoints")),
        period_seconds=r.get("alarmPeriodSeconds"),
        evaluation_periods=periods,
        datapoints_to_alarm=datapoints,
        endpoint_packets_dropped=r.get("alarmEndpointPacketsDropped"),
        endpoint_resets=r.get("alarmEndpointResets"),
        nat_port_allocation_errors=r.get("alarmNatPortAllocationErrors"),
        nat_packets_dropped=r.get("alarmNatPacketsDropped"),
    )


def _read_metrics(r: ConfigReader, network: NetworkConfig, byoc: Optional[ByocConfig]) -> Optional[MetricsConfig]:
    """The agent's settings, or None when metricsEnabled is false (then no other metrics* key is read)."""
    if not r.get("metricsEnabled"):
        return None
    # The agent pulls its image and scrapes api.clickhouse.cloud over the internet.
    how = ("an adopted VPC (vpcId) keeps egress none, so metrics need a VPC this stack creates"
           if not network.creates_vpc else "set clickhouse-aws:egress to nat or transit-gateway")
    r.check(network.egress != "none", "metricsEnabled",
            "needs outbound internet access for the agent (its image and api.clickhouse.cloud), but egress is none: "
            f"{how}, or set metricsEnabled to false")
    organization = r.get("clickhouse:organizationId")
    r.check(bool(organization), "clickhouse:organizationId",
            "is not set but metricsEnabled is true: the scrape URL names the organization; run "
            "`pulumi config set clickhouse:organizationId <org-uuid>`")
    if byoc is not None:
        r.check(APS_WORKSPACES_ENDPOINT not in byoc.interface_endpoints, "byocInterfaceEndpoints",
                f"lists {APS_WORKSPACES_ENDPOINT}, which metricsEnabled already gives the VPC (only one endpoint per "
                "service may hold its private DNS name); remove it from the list")
    return MetricsConfig(
        organization_id=organization,
        api_key_id=r.get("metricsApiKeyId"),
        api_key_secret=r.get("metricsApiKeySecret"),
        scrape_interval_seconds=r.get("metricsScrapeIntervalSeconds"),
        log_retention_days=r.get("metricsLogRetentionDays"),
    )

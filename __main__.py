"""ClickHouse behind private networking: read and validate config, compose the components, export what operators need.

Without BYOC: a ClickHouse Cloud service reached through AWS PrivateLink. With byocEnabled: the customer side of
ClickHouse BYOC on the stack's private network, exported as one ``byoc`` object for the handoff to ClickHouse, and,
once ClickHouse reports the BYOC infrastructure (byocInfrastructureId), the service on it. Either way the service
outputs have the same shape.

Every check that can fail on a user's input runs before the first resource is declared.
"""

import pulumi

import stack_config
import stack_outputs
from components.account import AwsAccount
from components.byoc.deploy import ByocInputs, deploy_byoc
from components.byoc.names import BYOC_SUBNET_TAGS, BYOC_TAGS
from components.clickhouse_service import DEFAULT_USER, HTTPS_PORT, ClickHouseService, ClickHouseServiceArgs
from components.kms_key import KmsKey, KmsKeyArgs, logs_usage_statement
from components.network import PrivateNetwork, PrivateNetworkArgs, find_network
from components.observability.alarms import Endpoint
from components.observability.deploy import ObservabilityInputs, deploy_observability
from components.privatelink import PrivateLink, PrivateLinkArgs
from stack_config.byoc import TAILSCALE_EGRESS

cfg = stack_config.load()
# BYOC puts the S3 gateway endpoint on an adopted VPC's route tables, so only BYOC looks them up.
layout = stack_config.resolve_layout(cfg, find_network(cfg.network, with_route_tables=cfg.byoc is not None))
account = AwsAccount.lookup(cfg.aws_region)
stack_config.check_account(cfg, account.account_id, account.partition)
prefix = f"{cfg.project}-{cfg.stack}"
tags = dict(cfg.tags)


def kms_key(name: str, description: str, *usage: dict) -> KmsKey:
    return KmsKey(name, KmsKeyArgs(
        description=description,
        alias=f"alias/{prefix}-{name}",
        account=account,
        protect=cfg.protect,
        tags=tags,
        usage_statements=usage,
    ))


logs_key = kms_key("logs", f"CloudWatch Logs of {prefix}", logs_usage_statement(account))
network = PrivateNetwork("network", PrivateNetworkArgs(
    config=cfg.network,
    layout=layout,
    name_prefix=prefix,
    account=account,
    logs_kms_key_arn=logs_key.arn,
    tags=tags,
    # With BYOC, the stack's one VPC is also ClickHouse's: it carries the tags ClickHouse discovers it by.
    vpc_tags=BYOC_TAGS if cfg.byoc else {},
    subnet_tags=BYOC_SUBNET_TAGS if cfg.byoc else {},
))

secret_key_arn = (
    kms_key("secrets", f"ClickHouse credentials of {prefix}").arn if cfg.secret.create_kms_key else cfg.secret.kms_key_arn
)


def clickhouse_service(**byoc: str) -> ClickHouseService:
    return ClickHouseService("clickhouse", ClickHouseServiceArgs(
        config=cfg.clickhouse,
        secret=cfg.secret,
        secret_name=f"{cfg.project}/{cfg.stack}/clickhouse/{DEFAULT_USER}",
        secret_kms_key_arn=secret_key_arn,
        protect=cfg.protect,
        tags=tags,
        **byoc,
    ))


def service_outputs(service: ClickHouseService) -> dict:
    """The outputs a consumer reads, the same whichever kind of stack it is."""
    return {
        "clickhouse_url": pulumi.Output.concat("https://", service.host, f":{HTTPS_PORT}"),
        "clickhouse_user": DEFAULT_USER,
        "clickhouse_password_secret_arn": service.password_secret_arn,
        "clickhouse_password_kms_key_id": secret_key_arn,
        "service_id": service.service_id,
    }


# Every name here is declared in stack_outputs.py, which the audit, the handoff and the scripts read too.
outputs = {"aws_region": cfg.aws_region, "vpc_id": network.vpc_id, "subnet_ids": network.subnet_ids}
service, endpoint, byoc_topic_arn = None, None, None

if cfg.byoc is None:
    service = clickhouse_service()
    link = PrivateLink("privatelink", PrivateLinkArgs(
        name_prefix=prefix,
        vpc_id=network.vpc_id,
        subnet_ids=network.subnet_ids,
        subnet_zones=layout.subnet_zones,
        service_id=service.service_id,
        endpoint_service_name=service.endpoint_service_name,
        private_dns_hostname=service.private_dns_hostname,
        tags=tags,
        mysql_interface=cfg.clickhouse.mysql_interface,
    ))
    endpoint = Endpoint(network.vpc_id, link.vpc_endpoint_id, service.endpoint_service_name)
    outputs.update(service_outputs(service))
    outputs.update({
        "client_security_group_id": link.client_security_group_id,
        "endpoint_security_group_id": link.endpoint_security_group_id,
        "vpc_endpoint_id": link.vpc_endpoint_id,
        "vpc_endpoint_service_name": service.endpoint_service_name,
        "private_dns_hostname": service.private_dns_hostname,
        "private_dns_zone_id": link.private_dns_zone_id,
    })
else:
    if cfg.byoc.egress_none_acknowledged:
        pulumi.log.warn(f"egress is none (acknowledged by byocEgressNoneAcknowledged): ClickHouse BYOC's components "
                        f"need outbound {TAILSCALE_EGRESS} to the Tailscale control plane through a path outside this stack")
    # Never includes the ExternalId: the handoff document is built from this output.
    outputs["byoc"] = byoc_output = deploy_byoc(ByocInputs(
        config=cfg.byoc,
        network_config=cfg.network,
        layout=layout,
        network=network,
        account=account,
        name_prefix=prefix,
        protect=cfg.protect,
        tags=tags,
        logs_kms_key_arn=logs_key.arn,
    ))
    byoc_topic_arn = byoc_output["sns_topic_arn"]
    # A BYOC stack has no service in ClickHouse's own cloud; its service runs on the BYOC infrastructure once
    # ClickHouse reports it, and answers at clickhouse.<domain> through ClickHouse's private load balancer.
    if cfg.byoc.infrastructure_id:
        service = clickhouse_service(byoc_id=cfg.byoc.infrastructure_id, host=cfg.byoc.clickhouse_record_name)
        outputs.update(service_outputs(service))

outputs.update(deploy_observability(ObservabilityInputs(
    config=cfg.observability,
    account=account,
    stack=cfg.stack,
    name_prefix=prefix,
    protect=cfg.protect,
    tags=tags,
    vpc_id=network.vpc_id,
    subnet_ids=network.subnet_ids,
    logs_kms_key_arn=logs_key.arn,
    nat_gateway_ids=network.nat_gateway_ids,
    secret_recovery_window_days=cfg.secret.recovery_window_days,
    metrics_secret_name=f"{cfg.project}/{cfg.stack}/metrics/clickhouse-api-key",
    endpoint=endpoint,
    service_id=service.service_id if service is not None else None,
    existing_topic_arn=byoc_topic_arn,
)))

for name, value in stack_outputs.exported(outputs).items():
    pulumi.export(name, value)

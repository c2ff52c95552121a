"""Composes the BYOC components on the stack's one private network and builds the ``byoc`` handoff output.

Order matters only where a policy names a resource that must exist: the roles (and ClickHouse's bootstrap stack, which
makes its role) come before the keys whose policies name them. Everything else refers to names from ByocNames, so the pieces stay independent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pulumi

from components.account import AwsAccount
from components.byoc.bootstrap import ByocBootstrap, ByocBootstrapArgs
from components.byoc.names import ByocNames
from components.byoc.dns import ByocDns, ByocDnsArgs
from components.byoc.iam import ByocIam, ByocIamArgs
from components.byoc.keys import ByocKeys, ByocKeysArgs
from components.byoc.logs import ByocLogging, ByocLoggingArgs
from components.byoc.network import ByocNetwork, ByocNetworkArgs
from components.byoc.security_groups import ByocSecurityGroups, ByocSecurityGroupsArgs
from components.byoc.storage import ByocStorage, ByocStorageArgs
from components.network import PrivateNetwork
from stack_config.byoc import MANAGEMENT_ROLE_NAME, ByocConfig
from stack_config.network import NetworkConfig, NetworkLayout


@dataclass(frozen=True)
class ByocInputs:
    config: ByocConfig
    network_config: NetworkConfig
    layout: NetworkLayout
    network: PrivateNetwork
    account: AwsAccount
    name_prefix: str
    protect: bool
    tags: Mapping[str, str]
    logs_kms_key_arn: pulumi.Input[str]


def deploy_byoc(inputs: ByocInputs) -> dict[str, Any]:
    """Declare every BYOC component and return the ``byoc`` output (see the outputs contract in the README)."""
    cfg, account, network, tags = inputs.config, inputs.account, inputs.network, dict(inputs.tags)
    names = ByocNames(cfg, account, inputs.name_prefix)
    route_tables = network.route_table_ids if inputs.network_config.creates_vpc else list(inputs.layout.route_table_ids)

    endpoints = ByocNetwork("byoc-network", ByocNetworkArgs(
        config=cfg,
        network=inputs.network_config,
        region=account.region,
        vpc_id=network.vpc_id,
        vpc_cidr=network.vpc_cidr,
        subnet_ids=network.subnet_ids,
        route_table_ids=route_tables,
        name_prefix=inputs.name_prefix,
        tags=tags,
    ))
    groups = ByocSecurityGroups("byoc-security-groups", ByocSecurityGroupsArgs(
        vpc_id=network.vpc_id,
        vpc_cidr=network.vpc_cidr,
        s3_prefix_list_id=endpoints.s3_prefix_list_id,
        control_plane_security_group_id=cfg.control_plane_security_group_id,
        application_security_group_ids=list(cfg.application_security_group_ids),
        application_cidrs=cfg.application_cidrs,
        name_prefix=inputs.name_prefix,
        tags=tags,
    ))
    bootstrap = ByocBootstrap("byoc-bootstrap", ByocBootstrapArgs(
        config=cfg, account=account, name_prefix=inputs.name_prefix, protect=inputs.protect, tags=tags))
    iam = ByocIam("byoc-iam", ByocIamArgs(names=names, tags=tags))
    # Key policies name the roles by their deterministic ARNs (known at preview, so the pack can judge them);
    # KMS refuses a policy naming a role that does not exist yet, hence depends_on.
    keys = ByocKeys("byoc-keys", ByocKeysArgs(
        account=account,
        name_prefix=inputs.name_prefix,
        management_role_arn=bootstrap.role_arn,
        pod_role_arn=None if iam.pod_role_arn is None else names.pod_role_arn,
        deletion_window_days=cfg.kms_deletion_window_days,
        protect=inputs.protect,
        tags=tags,
        depends_on=[iam, *bootstrap.depends_on],
    ))
    storage = ByocStorage("byoc-storage", ByocStorageArgs(
        names=names, s3_kms_key_arn=keys.arns["s3"], protect=inputs.protect, tags=tags))
    logging = ByocLogging("byoc-logging", ByocLoggingArgs(
        names=names, logs_kms_key_arn=inputs.logs_kms_key_arn, protect=inputs.protect, tags=tags))
    dns = ByocDns("byoc-dns", ByocDnsArgs(config=cfg, region=account.region, vpc_id=network.vpc_id, tags=tags))

    # The bootstrap role's ARN is what the customer reports to ClickHouse to start onboarding.
    role_arns = {"eks_node": iam.node_role_arn, "management": bootstrap.role_arn}
    if iam.pod_role_arn is not None:
        role_arns["pods"] = iam.pod_role_arn
    output: dict[str, Any] = {
        "region": account.region,
        "account_id": account.account_id,
        "vpc_id": network.vpc_id,
        "vpc_cidr": network.vpc_cidr,
        # How ClickHouse's components reach the Tailscale control plane; "none" only when acknowledged in config.
        "egress": inputs.network_config.egress,
        "subnet_ids": network.subnet_ids,
        "availability_zones": network.availability_zones,
        "route_table_ids": endpoints.route_table_ids,
        "s3_gateway_endpoint_id": endpoints.s3_gateway_endpoint_id,
        "interface_endpoint_ids": endpoints.interface_endpoint_ids,
        "security_group_ids": {**groups.security_group_ids, "endpoints": endpoints.endpoint_security_group_id},
        "role_arns": role_arns,
        "management_role_name": MANAGEMENT_ROLE_NAME,
        "bootstrap_mode": cfg.bootstrap,
        "pod_access": cfg.pod_access,
        "kms_key_arns": keys.arns,
        "buckets": storage.buckets,
        "log_group_names": logging.log_group_names,
        "sns_topic_arn": logging.sns_topic_arn,
        "hosted_zone_id": dns.hosted_zone_id,
        "domain": dns.domain,
    }
    if dns.clickhouse_record_name is not None:
        output["clickhouse_record_name"] = dns.clickhouse_record_name
    if bootstrap.stack_name is not None:
        output["bootstrap_stack_name"] = bootstrap.stack_name
    return output

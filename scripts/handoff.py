"""Render the ClickHouse BYOC handoff document (Markdown) from a stack's outputs.

``render_handoff`` takes what ``pulumi stack output --json`` prints (secret outputs appear as ``[secret]``) and lays
out its ``byoc`` object in two parts: what ClickHouse needs to start onboarding (account, region, VPC, private subnets
and zones, egress, the bootstrap role), and the customer-supplied resources ClickHouse may use if agreed; then the
service. The document never carries a secret: ExternalId keys are dropped wherever they appear (inside lists too),
values that mention an ExternalId and secret-marked values are withheld, and outputs naming two regions or accounts are
refused.

CLI: ``python -m scripts.handoff --outputs outputs.json [-o handoff.md]``; exit 2 when the input cannot be used.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import stack_outputs
from scripts.audit.model import parse_arn, strings
from scripts.aws_settings import REGION_PATTERN
from stack_config.byoc import TAILSCALE_EGRESS

# The marker `pulumi stack output --json` prints in place of a secret output.
SECRET = "[secret]"
USAGE_EXIT = 2

KeyPath = tuple[str, ...]
ZONE_NAME = re.compile(rf"^({REGION_PATTERN})[a-z]$")


class HandoffError(ValueError):
    """The outputs cannot produce a handoff document (no BYOC section, wrong shape)."""


@dataclass(frozen=True)
class Item:
    label: str
    # Where the value is, from the section's root: a path the outputs contract (stack_outputs.py) declares.
    path: KeyPath


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]
    note: str | None = None
    # The output the items' paths start from; () for the top-level outputs.
    root: KeyPath = ("byoc",)


# What ClickHouse needs to start onboarding: where (account, region, VPC, private subnets and their zones), how its
# components get out (egress), and the bootstrap role it assumes.
NEEDED_TO_START: tuple[Section, ...] = (
    Section("AWS account and region", (
        Item("AWS account ID", ("account_id",)),
        Item("Region", ("region",)),
    )),
    Section("VPC, subnets and availability zones", (
        Item("VPC ID", ("vpc_id",)),
        Item("VPC CIDR", ("vpc_cidr",)),
        Item("Private subnet IDs", ("subnet_ids",)),
        Item("Availability zones", ("availability_zones",)),
        Item("Route table IDs", ("route_table_ids",)),
        Item("S3 gateway endpoint", ("s3_gateway_endpoint_id",)),
        Item("Interface endpoint", ("interface_endpoint_ids",)),
    ), note="The VPC and the private subnets carry `clickhouse-byoc=true` and the subnets "
            "`kubernetes.io/role/internal-elb=1`. Private subnets only, one per zone, none maps public IPs; AWS APIs are "
            "reached through the VPC endpoints."),
    Section("Egress", (
        Item("Egress (outbound internet for Tailscale)", ("egress",)),
    )),
    Section("Bootstrap role", (
        Item("Bootstrap role ARN (report it to ClickHouse)", ("role_arns", "management")),
        Item("Bootstrap role name", ("management_role_name",)),
        Item("Bootstrap role made by", ("bootstrap_mode",)),
    ), note="The role ClickHouse assumes to build the infrastructure: ClickHouse's own, from ClickHouse's unchanged "
            "CloudFormation template (cloudformation: deployed by this stack; existing: run by the customer's security "
            "team), with its VPC write permissions off. It trusts ClickHouse's automation only with the agreed "
            "sts:ExternalId, a secret exchanged over a separate secure channel and not in this document."),
)

# Customer-supplied prerequisites: ClickHouse creates its own unless it agrees to use these.
IF_AGREED: tuple[Section, ...] = (
    Section("Security groups", (
        Item("EKS nodes", ("security_group_ids", "nodes")),
        Item("ClickHouse pods", ("security_group_ids", "pods")),
        Item("Internal NLB", ("security_group_ids", "nlb")),
        Item("VPC interface endpoints", ("security_group_ids", "endpoints")),
    ), note="Tagged `clickhouse-byoc=true`, the tag ClickHouse's permissions on security groups are scoped by."),
    Section("IAM roles", (
        Item("EKS node role ARN", ("role_arns", "eks_node")),
        Item("Pod role ARN (ClickHouse pods)", ("role_arns", "pods")),
        Item("Pod access", ("pod_access",)),
    ), note="The pod role is the only principal that may read and write the backups bucket's objects; it may also "
            "write the query and error log groups. With pod-identity it trusts EKS Pod Identity "
            "(`pods.eks.amazonaws.com`) and its name matches `*-clickhouse-*`, a role ClickHouse's bootstrap role may "
            "pass to Pod Identity; with irsa it trusts the cluster's OIDC issuer for one service account."),
    Section("KMS keys", (
        Item("EBS volumes", ("kms_key_arns", "ebs")),
        Item("S3 buckets", ("kms_key_arns", "s3")),
        Item("EKS secrets", ("kms_key_arns", "eks_secrets")),
    ), note="The EBS key may be used, and granted to volumes, by the EC2 Auto Scaling service-linked role and, through "
            "EC2, by roles named `*-ebs-csi-driver`, `*-karpenter-controller`, `*-karpenter-node` and `*-k8s-worker` "
            "in this account."),
    Section("S3 buckets", (
        Item("Backups bucket", ("buckets", "backups", "name")),
        Item("Backups bucket ARN", ("buckets", "backups", "arn")),
        Item("Logs bucket", ("buckets", "logs", "name")),
        Item("Logs bucket ARN", ("buckets", "logs", "arn")),
    )),
    Section("CloudWatch log groups", (
        Item("Query logs", ("log_group_names", "query")),
        Item("Error logs", ("log_group_names", "error")),
        Item("EKS control plane", ("log_group_names", "eks_cluster")),
        Item("Alarm notifications (SNS topic)", ("sns_topic_arn",)),
    )),
    Section("Route53", (
        Item("Private hosted zone ID", ("hosted_zone_id",)),
        Item("Internal domain", ("domain",)),
        Item("ClickHouse record", ("clickhouse_record_name",)),
    )),
)
BYOC_SECTIONS: tuple[Section, ...] = NEEDED_TO_START + IF_AGREED

PRIVATELINK_SECTION = Section("PrivateLink", (
    Item("ClickHouse endpoint service", ("vpc_endpoint_service_name",)),
    Item("Interface VPC endpoint", ("vpc_endpoint_id",)),
    Item("Private DNS hostname", ("private_dns_hostname",)),
    Item("Private hosted zone ID", ("private_dns_zone_id",)),
    Item("Endpoint security group", ("endpoint_security_group_id",)),
    Item("Client security group", ("client_security_group_id",)),
    Item("ClickHouse service ID", ("service_id",)),
    Item("Connection URL", ("clickhouse_url",)),
), note="The endpoint admits only the client security group, on tcp 443 and 8443 (HTTPS) and 9440 (native TLS), "
        "and 3306 when the service's MySQL interface is on. PrivateLink "
        "to a BYOC service needs ClickHouse support to enable the private load balancer first.", root=())


def _is_external_id(key: str) -> bool:
    return "externalid" in key.replace("_", "").replace("-", "").lower()


def without_external_ids(value: Any) -> Any:
    """``value`` with every ExternalId key dropped at any depth, inside lists too, and every string that mentions one
    (a trust policy serialised into a value) withheld: the document never shows an ExternalId."""
    if isinstance(value, Mapping):
        return {key: without_external_ids(child) for key, child in value.items() if not _is_external_id(str(key))}
    if isinstance(value, list):
        return [without_external_ids(child) for child in value]
    if isinstance(value, str) and _is_external_id(value):
        return SECRET
    return value


def _leaves(value: Any, prefix: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Every (path, value) at the bottom of nested mappings."""
    if isinstance(value, Mapping) and value:
        for key, child in value.items():
            yield from _leaves(child, prefix + (str(key),))
    else:
        yield prefix, value


def _one(kind: str, claims: dict[str, set[str]]) -> None:
    """Refuse outputs whose claims about the ``kind`` (region or account) disagree; ``claims``: value -> sources."""
    if len(claims) > 1:
        told = "; ".join(f"{value} ({', '.join(sorted(sources)[:3])})" for value, sources in sorted(claims.items()))
        raise HandoffError(
            f"The stack outputs disagree about the AWS {kind}: {told}. A handoff must name one {kind}; regenerate the "
            "file with `pulumi stack output --json --stack <stack>` from the BYOC stack and run again."
        )


def check_one_region_and_account(outputs: Mapping[str, Any], byoc: Mapping[str, Any]) -> None:
    """The top-level region, ``byoc.region``/``byoc.account_id`` and every ARN name one region and one account."""
    regions: dict[str, set[str]] = {}
    accounts: dict[str, set[str]] = {}
    for where, value in (("aws_region", outputs.get("aws_region")), ("byoc.region", byoc.get("region"))):
        if isinstance(value, str) and value:
            regions.setdefault(value, set()).add(where)
    zones = byoc.get("availability_zones")
    for zone in zones if isinstance(zones, list) else []:
        # A zone name is its region and a letter (us-east-1a); zone IDs (use1-az1) name no region.
        if isinstance(zone, str) and (region := ZONE_NAME.match(zone)):
            regions.setdefault(region[1], set()).add(f"byoc.availability_zones ({zone})")
    if isinstance(byoc.get("account_id"), str) and byoc["account_id"]:
        accounts.setdefault(byoc["account_id"], set()).add("byoc.account_id")
    for text in strings(outputs):
        arn = parse_arn(text)
        if arn is None:
            continue
        if arn.region:
            regions.setdefault(arn.region, set()).add(text)
        if arn.account:
            accounts.setdefault(arn.account, set()).add(text)
    _one("region", regions)
    _one("account", accounts)


def _lookup(root: Mapping[str, Any], path: KeyPath) -> tuple[bool, Any]:
    node: Any = root
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text.replace('|', '&#124;')}{pad}{fence}"


def _cell(value: Any) -> str:
    if value == SECRET:
        return "*withheld (secret)*"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) if value else "*none*"
    if value is None or value == "":
        return "*not set*"
    return _code(str(value))


def _rows(section: Section, root: Mapping[str, Any]) -> Iterator[tuple[str, str, KeyPath]]:
    """(label, rendered value, consumed path) per table row; mapping values expand to one row per key."""
    for item in section.items:
        declared = stack_outputs.lookup(*section.root, *item.path)
        found, value = _lookup(root, item.path)
        if not found:
            # A value that only exists after a later phase is pending, not missing.
            text = f"pending: created {declared.when}" if declared.when else "missing from the outputs"
            yield item.label, f"*{text}*", item.path
        elif isinstance(value, Mapping) and value:
            for sub, leaf in _leaves(value):
                yield f"{item.label}: {'.'.join(sub)}", _cell(leaf), item.path + sub
        else:
            yield item.label, _cell(value), item.path


def _table(rows: Sequence[tuple[str, str]]) -> list[str]:
    return ["| Item | Value |", "| --- | --- |", *(f"| {label} | {value} |" for label, value in rows)]


def _section(number: int, section: Section, root: Mapping[str, Any], consumed: set[KeyPath]) -> list[str]:
    rows = []
    for label, value, path in _rows(section, root):
        consumed.add(path)
        rows.append((label, value))
    lines = [f"## {number}. {section.title}", ""]
    if section.note:
        lines += [section.note, ""]
    return lines + _table(rows) + [""]


SERVICE_SECTION = Section("ClickHouse service on the BYOC infrastructure", (
    Item("ClickHouse service ID", ("service_id",)),
    Item("Connection URL", ("clickhouse_url",)),
    Item("User", ("clickhouse_user",)),
    Item("Password secret (Secrets Manager)", ("clickhouse_password_secret_arn",)),
), note="Reached at clickhouse.<domain> through ClickHouse's private load balancer, from the application subnets and "
        "security groups the NLB admits.")


def _byoc(outputs: Mapping[str, Any]) -> Mapping[str, Any]:
    byoc = outputs.get("byoc")
    if byoc is None:
        raise HandoffError(
            "The stack outputs have no `byoc` section: BYOC is not enabled for this stack (set "
            "clickhouse-aws:byocEnabled to true and run up), or the file is not `pulumi stack output --json` of the "
            "BYOC stack."
        )
    if byoc == SECRET:
        raise HandoffError(
            "The `byoc` output is marked secret, so its values cannot be handed off; the program must export it "
            "without secret values."
        )
    if not isinstance(byoc, Mapping):
        raise HandoffError(f"The `byoc` output must be an object, not {type(byoc).__name__}.")
    return byoc


# What the phase-3 `up` adds once ClickHouse's facts are in the stack config.
PHASE3_PATHS: tuple[KeyPath, ...] = (("role_arns", "pods"), ("clickhouse_record_name",))


def customer_side_complete(byoc: Any) -> bool:
    """Phase 3 is applied: the pod role and the clickhouse.<domain> record are in the ``byoc`` output.

    The program leaves each out until ClickHouse's facts (with IRSA the OIDC issuer; the NLB DNS name) are in the
    stack config.
    """
    if not isinstance(byoc, Mapping):
        return False
    return all(_lookup(byoc, path)[1] for path in PHASE3_PATHS)


def _egress_lines(egress: Any) -> list[str]:
    """What the egress mode means for ClickHouse's Tailscale link."""
    needs = f"ClickHouse's BYOC components need outbound {TAILSCALE_EGRESS} to the Tailscale control plane"
    if egress == "nat":
        return [f"Egress **nat**: the private subnets reach the internet through NAT gateways that sit alone in small "
                f"egress subnets (the only users of the internet gateway); nothing in the VPC takes inbound traffic "
                f"from the internet. {needs}, which this path allows."]
    if egress == "transit-gateway":
        return [f"Egress **transit-gateway**: the private subnets' default route leads to the organisation's transit "
                f"gateway and its central egress. {needs}: allow it along that path."]
    if egress == "none":
        return ["Egress **none, acknowledged** (byocEgressNoneAcknowledged): this stack gives the VPC no route out, "
                f"because the ClickHouse contract provides another outbound path. {needs}: confirm that path with "
                "ClickHouse before onboarding."]
    return [f"Egress is not stated in the outputs. {needs}: say how before onboarding."]


def _next_steps(byoc: Mapping[str, Any]) -> list[str]:
    if customer_side_complete(byoc):
        return ["The pod role and the `clickhouse.<domain>` record exist: the customer side of BYOC is complete."]
    irsa = byoc.get("pod_access") == "irsa"
    facts = "the EKS OIDC issuer URL and the NLB DNS name" if irsa else "the NLB DNS name"
    sets = ["   pulumi config set clickhouse-aws:byocOidcIssuerUrl <issuer-url> --stack <stack>"] if irsa else []
    creates = "the pod role for the ClickHouse pods and the `clickhouse.<domain>` record" if irsa else \
        "the `clickhouse.<domain>` record"
    return [
        "1. ClickHouse assumes the bootstrap role and builds the infrastructure in this account (about 40 minutes): "
        "EKS, its node and pod roles, and the internal NLB.",
        f"2. ClickHouse sends back {facts} and the BYOC infrastructure ID. Then, on the customer side:",
        "",
        "   ```sh",
        *sets,
        "   pulumi config set clickhouse-aws:byocNlbDnsName <nlb-dns-name> --stack <stack>",
        "   pulumi config set clickhouse-aws:byocInfrastructureId <infrastructure-id> --stack <stack>",
        "   python -m scripts.stack bootstrap --stack <stack> --yes",
        "   ```",
        "",
        f"   That creates {creates} and the ClickHouse service on the BYOC infrastructure.",
    ]


def _part(title: str, intro: str) -> list[str]:
    return [f"# {title}", "", intro, ""]


def render_handoff(outputs: Mapping[str, Any]) -> str:
    """The handoff document for ``outputs`` (as printed by ``pulumi stack output --json``).

    Raises HandoffError when there is no usable ``byoc`` object.
    """
    outputs = without_external_ids(outputs)
    byoc = _byoc(outputs)
    check_one_region_and_account(outputs, byoc)
    account = byoc.get("account_id", "?")
    region = byoc.get("region", "?")
    lines = [
        f"# ClickHouse BYOC handoff: AWS account {account}, {region}",
        "",
        "Prepared from the stack outputs. Part 1 is what ClickHouse needs to start onboarding; part 2 lists "
        "customer-supplied resources ClickHouse may use if agreed. This document holds no secrets; values marked "
        "secret in the stack are withheld.",
        "",
    ]
    consumed: set[KeyPath] = set()
    number = 0
    lines += _part("Part 1. Needed to start", "ClickHouse's onboarding runs in this account, in this VPC and its "
                                              "private subnets, through the bootstrap role.")
    for section in NEEDED_TO_START:
        number += 1
        lines += _section(number, section, byoc, consumed)
        if section.title == "Egress":
            lines += [*_egress_lines(byoc.get("egress")), ""]
    lines += _part("Part 2. Use if agreed with ClickHouse",
                   "Prepared by the customer ahead of ClickHouse. ClickHouse creates its own keys, buckets, roles, "
                   "groups and log groups unless it agrees to use these; each is usable by what runs in the cluster.")
    for section in IF_AGREED:
        number += 1
        lines += _section(number, section, byoc, consumed)
        if section.title == "CloudWatch log groups" and not _lookup(byoc, ("log_group_names", "eks_cluster"))[0]:
            lines += ["No EKS control plane log group: the cluster's name is not agreed with ClickHouse "
                      "(byocEksClusterName), and a guessed one would collide with the group ClickHouse creates.", ""]
    # A BYOC stack has no PrivateLink endpoint of its own; its service, once created, answers at clickhouse.<domain>.
    service = PRIVATELINK_SECTION if "vpc_endpoint_id" in outputs else SERVICE_SECTION if "service_id" in outputs else None
    if service is not None:
        number += 1
        lines += _section(number, service, outputs, set())
    # Values the program exports beyond the known checklist are still handed over rather than silently dropped.
    extra = [(".".join(path), _cell(value)) for path, value in _leaves(byoc) if path not in consumed]
    if extra:
        lines += [f"## {number + 1}. Other values", ""] + _table(extra) + [""]
    lines += ["## Next steps", "", *_next_steps(byoc), ""]
    return "\n".join(lines)


def load_outputs(path: str) -> Mapping[str, Any]:
    """Read an outputs JSON file (``-`` for stdin); HandoffError when it cannot hold stack outputs."""
    try:
        return stack_outputs.read_file(path)
    except stack_outputs.OutputsFileError as exc:
        text = str(exc)
        raise HandoffError(f"{text[0].upper()}{text[1:]}; expected what `pulumi stack output --json` prints.") \
            from None


def write_text(text: str, output: str | None) -> None:
    """Write to a file, or to stdout when no file is named."""
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.handoff",
        description="Render the ClickHouse BYOC handoff document (Markdown) from stack outputs.",
    )
    parser.add_argument("--outputs", required=True, help="`pulumi stack output --json` file, or - for stdin")
    parser.add_argument("-o", "--output", help="write the Markdown here instead of stdout")
    args = parser.parse_args(argv)
    try:
        document = render_handoff(load_outputs(args.outputs))
        write_text(document, args.output)
    except (HandoffError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())

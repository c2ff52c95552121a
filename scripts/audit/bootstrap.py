"""Check of ClickHouse's BYOC bootstrap role as the stack's ``byoc.bootstrap_mode`` says it came to be.

``cloudformation``: the stack deployed ClickHouse's template as a CloudFormation stack named
``<project>-<stack>-clickhouse-byoc-bootstrap`` (``components/byoc/bootstrap.py``). DescribeStacks does not return
the template URL (the pack's ``cloudformation-template-allowed`` judges it at preview), so the check compares what
the live stack shows: a settled, non-rollback status, ``IncludeVPCWritePermissions`` false, the ExternalId parameter
present and masked by the template's NoEcho, and drift when CloudFormation has detected it. ``existing``: the
customer's security team ran the template, so only the role itself is there to see. Either way the role is named
exactly ClickHouseManagementRole, is the one the outputs hand to ClickHouse, and trusts ClickHouse's account with an
ExternalId condition. No ExternalId value is ever printed: not the parameter's, not the trust condition's.
"""

from __future__ import annotations

from typing import Any, Mapping, cast

from scripts.audit.checks import AuditContext, Check, _as_list, _principals, byoc_outputs, needs_byoc, role
from scripts.audit.model import Finding, parse_arn
from stack_config.byoc import MANAGEMENT_ROLE_NAME

# ClickHouse's production AWS account, which ClickHouse's template has the role trust.
CLICKHOUSE_ACCOUNT_ID = "426924874929"
EXTERNAL_ID_PARAMETER = "ExternalId"
VPC_WRITE_PARAMETER = "IncludeVPCWritePermissions"
# What DescribeStacks shows in place of a NoEcho parameter's value.
NO_ECHO_MASK = "****"


def settled(status: str) -> bool:
    """A create, update or import that finished without rolling back (DELETE_COMPLETE is gone, not settled)."""
    return status.endswith("_COMPLETE") and "ROLLBACK" not in status and not status.startswith("DELETE")


def _trusts_clickhouse(statement: Mapping[str, Any]) -> bool:
    """An Allow for ClickHouse's account (root or bare ID) on a condition that includes sts:ExternalId."""
    if statement.get("Effect") != "Allow":
        return False
    accounts = {CLICKHOUSE_ACCOUNT_ID if p == CLICKHOUSE_ACCOUNT_ID else getattr(parse_arn(p), "account", None)
                for p in _principals(statement.get("Principal"), "AWS")}
    conditions = {key.lower() for block in (statement.get("Condition") or {}).values() for key in block}
    return CLICKHOUSE_ACCOUNT_ID in accounts and "sts:externalid" in conditions


def _role_findings(ctx: AuditContext) -> list[Finding]:
    byoc = byoc_outputs(ctx)
    found = role(ctx, MANAGEMENT_ROLE_NAME)
    if found is None:
        return [Finding("audit-resource-exists", MANAGEMENT_ROLE_NAME,
                        f"IAM role {MANAGEMENT_ROLE_NAME} does not exist in account {byoc.account_id}")]
    findings = []
    handed = byoc.role_arns.get("management", "")
    if handed != found["Arn"]:
        findings.append(Finding(
            "audit-bootstrap-role", handed or "byoc.role_arns.management",
            f"the outputs hand ClickHouse {handed or 'no management role'}, but the role in this account is "
            f"{found['Arn']}; ClickHouse assumes exactly {MANAGEMENT_ROLE_NAME} in the BYOC account",
        ))
    document = found.get("AssumeRolePolicyDocument") or {}
    if not any(_trusts_clickhouse(s) for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)):
        findings.append(Finding(
            "audit-bootstrap-role-trust", found["Arn"],
            f"the role does not trust ClickHouse's account {CLICKHOUSE_ACCOUNT_ID} with an sts:ExternalId condition, "
            "as ClickHouse's template has it",
        ))
    return findings


def _stack_findings(ctx: AuditContext) -> list[Finding]:
    name = cast(str, byoc_outputs(ctx).bootstrap_stack_name)  # present with cloudformation (parse_outputs)
    found = ctx.aws.call("cloudformation", "describe_stacks", StackName=name, missing=frozenset({"ValidationError"}))
    stacks = (found or {}).get("Stacks", [])
    if not stacks:
        return [Finding("audit-resource-exists", name,
                        f"CloudFormation stack {name} (ClickHouse's bootstrap template) does not exist in {ctx.region}")]
    stack = stacks[0]
    findings = []
    status = str(stack.get("StackStatus", "unknown"))
    if not settled(status):
        findings.append(Finding(
            "audit-cloudformation-stack-complete", name,
            f"stack status is {status}, not a completed create or update",
        ))
    parameters = {p.get("ParameterKey"): p.get("ParameterValue") for p in stack.get("Parameters", [])}
    vpc_write = parameters.get(VPC_WRITE_PARAMETER)
    if vpc_write != "false":
        findings.append(Finding(
            "audit-bootstrap-parameters", name,
            f"{VPC_WRITE_PARAMETER} is {vpc_write or 'not set'}, not false: the VPC is the customer's, so ClickHouse's "
            "role must not get VPC write permissions",
        ))
    if EXTERNAL_ID_PARAMETER not in parameters:
        findings.append(Finding(
            "cloudformation-external-id-secret", name,
            f"the stack has no {EXTERNAL_ID_PARAMETER} parameter, so the role is not bound to the ExternalId "
            "ClickHouse gave you",
        ))
    elif parameters[EXTERNAL_ID_PARAMETER] != NO_ECHO_MASK:
        findings.append(Finding(
            "cloudformation-external-id-secret", name,
            f"DescribeStacks shows the {EXTERNAL_ID_PARAMETER} parameter in clear text (value withheld here): the "
            "template declares it without NoEcho, so it is not ClickHouse's unchanged template",
        ))
    drift = (stack.get("DriftInformation") or {}).get("StackDriftStatus")
    if drift == "DRIFTED":
        findings.append(Finding(
            "audit-cloudformation-drift", name,
            "CloudFormation's last drift detection found the stack's resources changed outside the template",
        ))
    ctx.details.setdefault("byoc-bootstrap", []).append(
        f"stack {name}: {status}, drift {drift or 'not reported'}; the template URL is not readable live "
        "(cloudformation-template-allowed judges it at preview)"
    )
    return findings


def check_bootstrap(ctx: AuditContext) -> list[Finding]:
    cloudformation = byoc_outputs(ctx).bootstrap_mode == "cloudformation"
    return (_stack_findings(ctx) if cloudformation else []) + _role_findings(ctx)


BOOTSTRAP_CHECKS: tuple[Check, ...] = (
    Check("byoc-bootstrap", f"ClickHouse's bootstrap: {MANAGEMENT_ROLE_NAME} trusts ClickHouse with an ExternalId; "
                            "with cloudformation, its stack completed with VPC writes off and the ExternalId masked",
          check_bootstrap, needs_byoc),
)

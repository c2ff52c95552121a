"""CloudFormation only as ClickHouse ships it: a stack from an allow-listed template URL, its ExternalId a secret.

The program deploys ClickHouse's BYOC bootstrap template unchanged (ClickHouse's "AWS customized setup" page: "do not
change anything in the provided template or module without ClickHouse's explicit approval"). A stack from another
URL, or from an inline template body, could create any role at all under CAPABILITY_NAMED_IAM, so the template is
judged by where it comes from: an exact URL from the policy config (https only, no query string, no look-alike host).

The ExternalId is what keeps anyone but ClickHouse's automation from assuming the bootstrap role. pulumi-policy unwraps
secret inputs before a validator runs (``deserialize_properties`` without ``proxy_secrets`` in Analyze and
AnalyzeStack), so the pack checks what it can observe: the parameter is there, its value is that of a secret config
key (listed as secret, or credential-named like byocExternalId, which the program refuses in plain text; never a
literal in code), and the stack's echoed ``parameters`` output is kept secret in state (``additionalSecretOutputs``). That the value travels with its secret marker is checked on the
wire by the offline gate (``credentials.plaintext_findings``, where ``ExternalId`` is a credential name).
"""

from __future__ import annotations

from pulumi_policy import PolicyConfigSchema, Severity

from .credentials import is_sensitive_name, secret_config_values
from .framework import Check, resource_policy
from .values import is_unknown

STACK = "aws:cloudformation/stack:Stack"
STACK_SET = "aws:cloudformation/stackSet:StackSet"
NATIVE_STACK = "aws-native:cloudformation:Stack"
NATIVE_STACK_SET = "aws-native:cloudformation:StackSet"
# A Serverless Application Repository application is a CloudFormation stack from a template the repository holds.
SAR_STACK = "aws:serverlessrepository/cloudFormationStack:CloudFormationStack"
TEMPLATE_TYPES = (STACK, STACK_SET, NATIVE_STACK, NATIVE_STACK_SET, SAR_STACK)
PARAMETER_TYPES = (STACK, NATIVE_STACK)
# ClickHouse's BYOC bootstrap templates, as its docs link them: byoc_v2.yaml on the "AWS customized setup" page
# (clickhouse.com/docs/cloud/reference/byoc/onboarding/customization-aws), byoc.yaml on older pages.
CLICKHOUSE_TEMPLATE_URLS = [
    "https://s3.us-east-2.amazonaws.com/clickhouse-public-resources.clickhouse.cloud/cf-templates/byoc_v2.yaml",
    "https://s3.us-east-2.amazonaws.com/clickhouse-public-resources.clickhouse.cloud/cf-templates/byoc.yaml",
]
EXTERNAL_ID = "ExternalId"
# Where the stack's parameters come back: CloudFormation echoes them, in state, as the ``parameters`` output.
PARAMETERS_OUTPUT = "parameters"

TEMPLATE_SCHEMA = PolicyConfigSchema(properties={
    "allowedTemplateUrls": {
        "type": "array",
        "items": {"type": "string", "pattern": r"^https://[^\s?#]+$"},
        "description": "Template URLs CloudFormation stacks may use, matched exactly (https, no query string).",
        "default": CLICKHOUSE_TEMPLATE_URLS,
    },
})


def _template(check: Check) -> None:
    props = check.props
    if check.resource.type == SAR_STACK:
        check.report("a Serverless Application Repository application deploys a CloudFormation template from the "
                     "repository, not from an allowed template URL; deploy an allowed template with a stack instead.")
        return
    body = props.get("templateBody")
    if is_unknown(body) or body:
        check.report("templateBody is set: a template is taken only from an allow-listed URL (templateUrl), never "
                     "inline, so what runs is exactly what its publisher ships.")
    url = props.get("templateUrl")
    allowed = check.config.get("allowedTemplateUrls", CLICKHOUSE_TEMPLATE_URLS)
    listed = ", ".join(allowed) or "none (allowedTemplateUrls is empty)"
    if is_unknown(url):
        check.report(f"templateUrl is not known at preview, so it cannot be checked against the allowed URLs ({listed}); "
                     "use one of them literally.")
    elif not url:
        if not body:
            check.report(f"no templateUrl: use one of the allowed template URLs ({listed}).")
    elif url not in allowed:
        check.report(f"templateUrl {url!r} is not an allowed template URL; allowed (matched exactly): {listed}.")


cloudformation_template_allowed = resource_policy(
    "cloudformation-template-allowed",
    "CloudFormation stacks use only allow-listed template URLs (exact https match), never an inline template body.",
    Severity.CRITICAL,
    _template,
    types=TEMPLATE_TYPES,
    config_schema=TEMPLATE_SCHEMA,
)


def _parameters_secret(check: Check) -> None:
    parameters = check.props.get("parameters")
    if is_unknown(parameters):
        check.report(f"parameters are not known at preview, so {EXTERNAL_ID} cannot be checked; pass it from secret "
                     "config, which is known at preview.")
        return
    parameters = parameters if isinstance(parameters, dict) else {}
    if parameters.get(EXTERNAL_ID) in (None, ""):
        check.report(f"parameter {EXTERNAL_ID} is missing or empty: ClickHouse's bootstrap role trusts ClickHouse's "
                     "automation only with the ExternalId ClickHouse gave you; pass it from secret config.")
    secrets = secret_config_values()
    for name, value in parameters.items():
        sensitive = name == EXTERNAL_ID or is_sensitive_name(name)
        if sensitive and (is_unknown(value) or (isinstance(value, str) and value and value not in secrets)):
            check.report(f"parameter {name} is not the value of a secret config key: set it with `pulumi config set "
                         "--secret` and pass that, never a literal, a plain config value or another resource's output.")
    if check.resource.type == STACK and PARAMETERS_OUTPUT not in check.resource.additional_secret_outputs:
        check.report(f"'{PARAMETERS_OUTPUT}' is not in additionalSecretOutputs: CloudFormation echoes the parameters, "
                     f"{EXTERNAL_ID} included, into state; keep that copy secret too.")


cloudformation_external_id_secret = resource_policy(
    "cloudformation-external-id-secret",
    "A CloudFormation stack passes the ExternalId parameter from secret config and keeps its parameters secret in state.",
    Severity.CRITICAL,
    _parameters_secret,
    types=PARAMETER_TYPES,
)

POLICIES = [cloudformation_template_allowed, cloudformation_external_id_secret]

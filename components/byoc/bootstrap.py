"""ClickHouse's BYOC bootstrap role, ClickHouseManagementRole, exactly as ClickHouse ships it.

ClickHouse's "AWS customized setup" page (clickhouse.com/docs/cloud/reference/byoc/onboarding/customization-aws) has
the role created by its CloudFormation template or its Terraform module (github.com/ClickHouse/terraform-byoc-
onboarding//modules/aws, whose README says it grants the same permission set as the template), named exactly
ClickHouseManagementRole, and says to "not change anything in the provided template or module without ClickHouse's
explicit approval; supported customizations are exposed as parameters". So the program does not write this role: with
``byocBootstrap: cloudformation`` it deploys ClickHouse's template as a CloudFormation stack, passing only those
parameters; with ``existing`` the customer's security team has run the template and the stack only names the role.

The role's name is fixed, so there is one per AWS account: a second BYOC stack in the same account (another region)
uses ``existing`` with the first one's role. Either way the role's ARN is known before it exists
(``arn:<partition>:iam::<account>:role/ClickHouseManagementRole``), so the key policies can name it; ``depends_on`` is what they must wait for (KMS refuses a principal that does not exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from components.account import AwsAccount
from stack_config.byoc import MANAGEMENT_ROLE_NAME, ByocConfig

# The template's parameters (ClickHouse's docs name IncludeVPCWritePermissions and IncludeIAMWritePermissions; they
# mirror the module's variables in PascalCase). The ExternalId parameter's name is not in ClickHouse's public docs:
# "ExternalId" is inferred from the module's external_id by that same mapping. A wrong name does not go unnoticed:
# CloudFormation refuses the stack at create time with "Parameters: [...] do not exist in the template".
EXTERNAL_ID_PARAMETER = "ExternalId"
VPC_WRITE_PARAMETER = "IncludeVPCWritePermissions"
IAM_WRITE_PARAMETER = "IncludeIAMWritePermissions"
# The template names its role, so CloudFormation must be told it may create named IAM resources.
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]


@dataclass(frozen=True)
class ByocBootstrapArgs:
    config: ByocConfig
    account: AwsAccount
    name_prefix: str
    protect: bool
    tags: Mapping[str, str]


class ByocBootstrap(pulumi.ComponentResource):
    """ClickHouse's bootstrap role: its CloudFormation stack (``cloudformation``) or nothing but its ARN (``existing``)."""

    role_arn: str
    # The CloudFormation stack's name (cloudformation), or None (existing).
    stack_name: Optional[str]
    # The resources the role's existence depends on: the CloudFormation stack, or none for an existing role.
    depends_on: list[pulumi.Resource]

    def __init__(self, name: str, args: ByocBootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:byoc:Bootstrap", name, None, opts)
        cfg, account = args.config, args.account
        self.role_arn = (cfg.management_role_arn
                         or f"arn:{account.partition}:iam::{account.account_id}:role/{MANAGEMENT_ROLE_NAME}")
        self.stack_name = None
        self.depends_on = []
        if cfg.bootstrap == "cloudformation":
            # One stack per Pulumi stack and account: the same name on every run.
            self.stack_name = f"{args.name_prefix}-clickhouse-byoc-bootstrap"
            self.depends_on.append(self._stack(name, self.stack_name, args))
        self.register_outputs({"role_arn": self.role_arn})

    def _stack(self, name: str, stack_name: str, args: ByocBootstrapArgs) -> aws.cloudformation.Stack:
        cfg = args.config
        return aws.cloudformation.Stack(
            name,
            name=stack_name,
            template_url=cfg.template_url,
            capabilities=CAPABILITIES,
            parameters={
                # Secret from the config onwards, so the parameters are secret in the request, state and diffs.
                EXTERNAL_ID_PARAMETER: pulumi.Output.secret(cfg.external_id),
                # The VPC is always this stack's (created or adopted): ClickHouse's BYO-VPC setting.
                VPC_WRITE_PARAMETER: "false",
                IAM_WRITE_PARAMETER: "true" if cfg.include_iam_write_permissions else "false",
            },
            # A failed first create leaves nothing half-made behind (a stack in ROLLBACK_COMPLETE cannot be updated
            # and would block the next `up` under the same name): CloudFormation deletes it and the error shows.
            # Failed updates roll back regardless.
            on_failure="DELETE",
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect,
                                        # CloudFormation echoes the parameters back; keep that copy secret too.
                                        additional_secret_outputs=["parameters"]),
        )

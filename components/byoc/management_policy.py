"""What ClickHouse's cross-account management role may do, as one managed policy per area (eks, compute, iam, observe).

ClickHouse's onboarding module grants this with include_vpc_write_permissions=false (the VPC is ours), IAM write kept
and KMS/TDE off; here it is narrowed to this account and region:

- no VPC, subnet, route, NAT, internet gateway or Elastic IP write at all; EC2 writes are limited to instances, launch
  templates, ENIs and security groups/tags carrying clickhouse-byoc=true;
- EKS writes only on clusters, add-ons and node groups named clickhouse-cloud-*;
- IAM writes only on roles/policies/instance profiles ClickHouse creates with clickhouse-byoc=true, never on this
  stack's own roles, and never attaching an administrator policy;
- no KMS statement: the key policies name this role for the EBS and EKS-secrets keys, via EC2/EKS only;
- S3 and CloudWatch Logs read-only, on this stack's buckets and log groups.

The module's VPC Lattice/RAM statements are left out: nothing here uses Lattice. Every document is known at preview
(ARNs built from names, not from resources), so the policy pack judges it before the first deploy.
"""

from __future__ import annotations

from typing import Any

from components.account import AwsAccount, allow
from components.byoc.names import BYOC_TAG, ByocNames

Statement = dict[str, Any]

REQUEST_TAGGED = {"StringEquals": {f"aws:RequestTag/{BYOC_TAG}": "true"}}
RESOURCE_TAGGED = {"StringEquals": {f"aws:ResourceTag/{BYOC_TAG}": "true"}}
# Only EKS's own clusters, add-ons and node groups: the names ClickHouse gives them.
CLICKHOUSE_CLUSTERS = "clickhouse-cloud-*"
SECURITY_GROUP_WRITE_ACTIONS = [
    "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress", "ec2:DeleteSecurityGroup", "ec2:ModifySecurityGroupRules",
]
ROLE_WRITE_ACTIONS = [
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateRole",
    "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:TagRole", "iam:UntagRole",
]
# The roles ClickHouse's pods run as (EKS pod identity), by the suffixes its controllers give them.
POD_ROLE_PATTERNS = ("*-load-balancer-controller", "*-cluster-autoscaler", "*-state-exporter", "*-ebs-csi-driver",
                     "*-karpenter-controller", "*-thanos", "*-CH-S3-Role")
# Managed policies that would turn a ClickHouse-created role into an administrator of the account.
ESCALATION_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")


def management_policies(names: ByocNames) -> dict[str, list[Statement]]:
    """The statements by area; each area becomes one managed policy, which keeps each under IAM's size limit."""
    account = names.account
    return {
        "eks": eks_statements(account),
        "compute": [
            *compute_read_statements(),
            *instance_statements(account),
            *tagging_statements(account),
            *security_group_statements(account),
            *endpoint_service_statements(account),
        ],
        "iam": [
            *iam_read_statements(account),
            *pass_role_statements(names),
            *eks_identity_statements(account),
            *controller_identity_statements(account),
            *guardrail_statements(names),
        ],
        "observe": observe_statements(names),
    }


def eks_statements(a: AwsAccount) -> list[Statement]:
    return [
        allow("ManageClickHouseClusters", [
            "eks:CreateCluster", "eks:DeleteCluster", "eks:UpdateClusterConfig", "eks:UpdateClusterVersion",
            "eks:AssociateEncryptionConfig", "eks:CreateAddon", "eks:UpdateAddon", "eks:DeleteAddon",
            "eks:CreateNodegroup", "eks:DeleteNodegroup", "eks:UpdateNodegroupConfig", "eks:UpdateNodegroupVersion",
            "eks:CreatePodIdentityAssociation", "eks:TagResource", "eks:UntagResource",
        ], [a.arn("eks", f"{kind}/{CLICKHOUSE_CLUSTERS}") for kind in ("cluster", "addon", "nodegroup")]),
        allow("ManageClickHousePodIdentities", [
            "eks:DeletePodIdentityAssociation", "eks:UpdatePodIdentityAssociation", "eks:TagResource",
            "eks:UntagResource",
        ], a.arn("eks", f"podidentityassociation/{CLICKHOUSE_CLUSTERS}/*")),
        allow("ReadEks", ["eks:Describe*", "eks:List*"], "*"),
    ]


def compute_read_statements() -> list[Statement]:
    return [allow("ReadCompute", ["ec2:Describe*", "ec2:Get*", "elasticloadbalancing:Describe*",
                                  "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities"],
                  "*")]


def instance_statements(a: AwsAccount) -> list[Statement]:
    """EKS nodes: instances with their volumes and ENIs, and their launch templates."""
    return [
        # Instances, their volumes and ENIs, AMIs (which have no account in their ARN): this region only.
        allow("RunInstances", ["ec2:RunInstances", "ec2:ModifyInstanceAttribute", "ec2:ModifyNetworkInterfaceAttribute"],
              f"arn:{a.partition}:ec2:{a.region}:*:*"),
        allow("LaunchTemplates", ["ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion",
                                  "ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplate"],
              a.arn("ec2", "launch-template/*")),
        allow("Volumes", "ec2:ModifyVolumeAttribute", a.arn("ec2", "volume/*")),
        allow("NetworkInterfaces", ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
              a.arn("ec2", "network-interface/*")),
        allow("NetworkInterfacesInByocSubnets", "ec2:CreateNetworkInterface",
              [a.arn("ec2", "subnet/*"), a.arn("ec2", "security-group/*")], RESOURCE_TAGGED),
    ]


def tagging_statements(a: AwsAccount) -> list[Statement]:
    return [
        allow("TagNewResources", "ec2:CreateTags", a.arn("ec2", "*"), REQUEST_TAGGED),
        allow("TagByocResources", ["ec2:CreateTags", "ec2:DeleteTags"], a.arn("ec2", "*"), RESOURCE_TAGGED),
    ]


def security_group_statements(a: AwsAccount) -> list[Statement]:
    """Groups ClickHouse creates in the BYOC VPC (tagged) and the ones EKS creates for its clusters."""
    groups = a.arn("ec2", "security-group/*")
    return [
        allow("CreateSecurityGroupsInByocVpc", "ec2:CreateSecurityGroup", a.arn("ec2", "vpc/*"), RESOURCE_TAGGED),
        allow("CreateByocSecurityGroups", "ec2:CreateSecurityGroup", groups, REQUEST_TAGGED),
        allow("ManageByocSecurityGroups", SECURITY_GROUP_WRITE_ACTIONS, groups, RESOURCE_TAGGED),
        allow("ManageEksClusterSecurityGroups", SECURITY_GROUP_WRITE_ACTIONS, groups,
              {"StringLike": {"aws:ResourceTag/aws:eks:cluster-name": CLICKHOUSE_CLUSTERS}}),
        allow("SecurityGroupRules", ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
                                     "ec2:ModifySecurityGroupRules"], a.arn("ec2", "security-group-rule/*")),
    ]


def endpoint_service_statements(a: AwsAccount) -> list[Statement]:
    """PrivateLink to the BYOC service: ClickHouse publishes an endpoint service in front of its NLB."""
    services = a.arn("ec2", "vpc-endpoint-service/*")
    return [
        allow("CreateEndpointService", "ec2:CreateVpcEndpointServiceConfiguration", services, REQUEST_TAGGED),
        allow("ManageEndpointService", [
            "ec2:DeleteVpcEndpointServiceConfigurations", "ec2:ModifyVpcEndpointServiceConfiguration",
            "ec2:ModifyVpcEndpointServicePermissions", "ec2:StartVpcEndpointServicePrivateDnsVerification",
        ], services, RESOURCE_TAGGED),
    ]


def _iam(a: AwsAccount, resource: str) -> str:
    return a.arn("iam", resource, regional=False)


def iam_read_statements(a: AwsAccount) -> list[Statement]:
    return [allow("ReadIam", [
        "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole", "iam:SimulatePrincipalPolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
        "iam:ListPolicyVersions", "iam:GetInstanceProfile", "iam:ListInstanceProfiles", "iam:GetOpenIDConnectProvider",
    ], [_iam(a, kind) for kind in ("role/*", "policy/*", "instance-profile/*", "oidc-provider/*")])]


def pass_role_statements(names: ByocNames) -> list[Statement]:
    """Roles ClickHouse may hand to EKS, EC2 and pods, each only to the service that uses it."""
    a, node_role_arn = names.account, names.role_arn(names.config.node_role_name)
    return [
        allow("PassControlPlaneRole", "iam:PassRole", _iam(a, "role/*-k8s-control-plane"),
              {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}}),
        allow("PassNodeRoles", "iam:PassRole",
              [node_role_arn, _iam(a, "role/*-k8s-worker"), _iam(a, "role/*-karpenter-node")],
              {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "eks.amazonaws.com"]}}),
        allow("PassPodRoles", "iam:PassRole", [_iam(a, f"role/{pattern}") for pattern in POD_ROLE_PATTERNS],
              {"StringEquals": {"iam:PassedToService": "pods.eks.amazonaws.com"}}),
    ]


def eks_identity_statements(a: AwsAccount) -> list[Statement]:
    """EKS's service-linked roles and the cluster's OIDC provider (IRSA)."""
    providers = _iam(a, "oidc-provider/*")
    return [
        allow("EksServiceLinkedRoles", "iam:CreateServiceLinkedRole", _iam(a, "role/aws-service-role/*"),
              {"StringEquals": {"iam:AWSServiceName": ["eks.amazonaws.com", "eks-nodegroup.amazonaws.com"]}}),
        allow("CreateOidcProvider", ["iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"], providers,
              REQUEST_TAGGED),
        allow("ManageOidcProvider", ["iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
                                     "iam:UpdateOpenIDConnectProviderThumbprint", "iam:DeleteOpenIDConnectProvider"],
              providers, RESOURCE_TAGGED),
    ]


def controller_identity_statements(a: AwsAccount) -> list[Statement]:
    """Roles, policies and instance profiles of ClickHouse's controllers: created tagged, managed while tagged."""
    identities = [_iam(a, kind) for kind in ("role/*", "policy/*", "instance-profile/*")]
    return [
        allow("CreateControllerIdentities", ["iam:CreateRole", "iam:TagRole", "iam:CreatePolicy", "iam:TagPolicy",
                                             "iam:CreateInstanceProfile", "iam:TagInstanceProfile"],
              identities, REQUEST_TAGGED),
        allow("ManageControllerIdentities", [
            *ROLE_WRITE_ACTIONS, "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
            "iam:TagPolicy", "iam:UntagPolicy", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
            "iam:DeleteInstanceProfile", "iam:TagInstanceProfile", "iam:UntagInstanceProfile",
        ], identities, RESOURCE_TAGGED),
    ]


def guardrail_statements(names: ByocNames) -> list[Statement]:
    """Denies that hold whatever the allows above say."""
    cfg = names.config
    own_roles = [names.role_arn(n) for n in (cfg.management_role_name, cfg.node_role_name, cfg.pod_role_name)]
    return [
        # Tagging any role clickhouse-byoc=true would otherwise hand it to ManageControllerIdentities, this one included.
        {"Sid": "NeverChangeThisStacksRoles", "Effect": "Deny", "Resource": own_roles,
         "Action": [*ROLE_WRITE_ACTIONS, "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"]},
        {"Sid": "NeverAttachAdministratorPolicies", "Effect": "Deny", "Action": "iam:AttachRolePolicy", "Resource": "*",
         "Condition": {"ArnEquals": {"iam:PolicyARN": [names.account.managed_policy_arn(p) for p in ESCALATION_POLICIES]}}},
    ]


def observe_statements(names: ByocNames) -> list[Statement]:
    """Read-only: identity and quotas, this stack's log groups and the settings of its buckets."""
    return [
        allow("Identity", ["sts:GetCallerIdentity", "servicequotas:GetServiceQuota",
                           "servicequotas:GetAWSDefaultServiceQuota"], "*"),
        allow("ListLogGroups", ["logs:DescribeLogGroups", "logs:ListTagsForResource"], "*"),
        allow("ReadByocLogs", ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
              [f"{names.log_group_arn(key)}:*" for key in names.log_groups]),
        allow("ReadByocBucketSettings", [
            "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:GetEncryptionConfiguration", "s3:GetBucketVersioning",
            "s3:GetLifecycleConfiguration", "s3:GetBucketPublicAccessBlock", "s3:GetBucketTagging",
        ], [names.bucket_arn("backups"), names.bucket_arn("logs")]),
    ]

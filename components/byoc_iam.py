"""IAM for ClickHouse BYOC: the EKS node role, the cross-account management role, and the IRSA role of the pods.

ClickHouse's automation assumes the management role from ClickHouse's account, only with the agreed ExternalId; the
trust policy carrying it is a secret. The IRSA role exists only once the EKS OIDC issuer is known; it may use the
backups bucket's objects and write to the ClickHouse log groups, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pulumi
import pulumi_aws as aws

from components.account import policy_document
from components.byoc_common import ByocNames

NODE_MANAGED_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
# ClickHouse's onboarding module trusts only its automation's roles in its account (CrossplaneWorkloadRole).
CLICKHOUSE_AUTOMATION_ROLE = "*-CrossplaneWorkloadRole"
BYOC = "clickhouse-byoc"
REQUEST_TAGGED = {"StringEquals": {f"aws:RequestTag/{BYOC}": "true"}}
RESOURCE_TAGGED = {"StringEquals": {f"aws:ResourceTag/{BYOC}": "true"}}
ROLE_WRITE_ACTIONS = [
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateRole",
    "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:TagRole", "iam:UntagRole",
]
# Managed policies that would turn a ClickHouse-created role into an administrator of the account.
ESCALATION_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")


def _allow(sid: str, actions: list[str] | str, resources: Any, condition: Optional[dict] = None) -> dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


@dataclass(frozen=True)
class ByocIamArgs:
    names: ByocNames
    tags: Mapping[str, str]


class ByocIam(pulumi.ComponentResource):
    node_role_arn: pulumi.Output[str]
    management_role_arn: pulumi.Output[str]
    management_role_name: pulumi.Output[str]
    irsa_role_arn: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: ByocIamArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:byoc:Iam", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        self._names, self._account, cfg = args.names, args.names.account, args.names.config
        self._tags = dict(args.tags)

        node = self._role(f"{name}-eks-node", cfg.node_role_name, "EKS worker nodes of ClickHouse BYOC",
                          policy_document({"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"Service": self._account.service_principal("ec2")}}))
        for policy in NODE_MANAGED_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-eks-node-{policy}",
                role=node.name,
                policy_arn=f"arn:{self._account.partition}:iam::aws:policy/{policy}",
                opts=self._child,
            )
        self.node_role_arn = node.arn

        # ARNs from role names, not node.arn, keep the policies known at preview so the pack can judge them.
        management = self._management_role(name, self._names.role_arn(cfg.node_role_name))
        self.management_role_arn, self.management_role_name = management.arn, management.name

        self.irsa_role_arn = None
        if cfg.oidc_issuer_url:
            self.irsa_role_arn = self._irsa_role(f"{name}-irsa").arn
        else:
            pulumi.log.info(
                "BYOC: no IRSA role for the ClickHouse pods yet. Once ClickHouse has created EKS, set "
                "clickhouse-aws:byocOidcIssuerUrl to the cluster's OIDC issuer URL and run up again.",
                resource=self,
            )
        self.register_outputs({
            "node_role_arn": self.node_role_arn,
            "management_role_arn": self.management_role_arn,
            "irsa_role_arn": self.irsa_role_arn,
        })

    def _role(self, resource_name: str, role_name: str, description: str, trust: pulumi.Input[str],
              opts: pulumi.ResourceOptions | None = None) -> aws.iam.Role:
        # None of these roles carries the clickhouse-byoc tag: ClickHouse's automation may change tagged roles.
        return aws.iam.Role(resource_name, name=role_name, description=description, assume_role_policy=trust,
                            tags=self._tags, opts=pulumi.ResourceOptions.merge(self._child, opts))

    def _management_role(self, name: str, node_role_arn: str) -> aws.iam.Role:
        cfg, account = self._names.config, self._account
        clickhouse_root = f"arn:{account.partition}:iam::{cfg.clickhouse_account_id}:root"
        # The ExternalId is secret from the config onwards, so the whole trust document is too: state, diffs and
        # logs only ever show it encrypted or as [secret].
        trust = pulumi.Output.secret(policy_document({
            "Effect": "Allow",
            "Principal": {"AWS": clickhouse_root},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"sts:ExternalId": pulumi.Output.secret(cfg.external_id)},
                "StringLike": {"aws:PrincipalArn": f"arn:{account.partition}:iam::{cfg.clickhouse_account_id}:role/"
                                                   f"{CLICKHOUSE_AUTOMATION_ROLE}"},
            },
        }))
        role = self._role(f"{name}-management", cfg.management_role_name,
                          "Lets ClickHouse Cloud manage the BYOC EKS cluster in this account (customer-managed VPC)",
                          trust, pulumi.ResourceOptions(additional_secret_outputs=["assume_role_policy"]))
        for area, statements in self._management_policies(node_role_arn).items():
            policy = aws.iam.Policy(
                f"{name}-management-{area}",
                name=f"{self._names.name_prefix}-clickhouse-mgmt-{area}",
                description=f"ClickHouse BYOC management role: {area}",
                policy=policy_document(*statements),
                tags=self._tags,
                opts=self._child,
            )
            aws.iam.RolePolicyAttachment(f"{name}-management-{area}", role=role.name, policy_arn=policy.arn,
                                         opts=self._child)
        return role

    def _management_policies(self, node_role_arn: str) -> dict[str, list[dict[str, Any]]]:
        """What ClickHouse's onboarding module grants with include_vpc_write_permissions=false (the VPC is ours),
        IAM write kept and KMS/TDE off, narrowed to this account and region:

        - no VPC, subnet, route, NAT, internet gateway or Elastic IP write at all; EC2 writes are limited to
          instances, launch templates, ENIs and security groups/tags carrying clickhouse-byoc=true;
        - EKS writes only on clusters, add-ons and node groups named clickhouse-cloud-*;
        - IAM writes only on roles/policies/instance profiles ClickHouse creates with clickhouse-byoc=true, never on
          this stack's own roles, and never attaching an administrator policy;
        - no KMS statement: the key policies name this role for the EBS and EKS-secrets keys, via EC2/EKS only;
        - S3 and CloudWatch Logs read-only, on this stack's buckets and log groups.
        VPC Lattice/RAM statements of the module are left out: nothing here uses Lattice.
        """
        a, names, cfg = self._account, self._names, self._names.config
        ec2 = f"arn:{a.partition}:ec2:{a.region}:{a.account_id}"
        iam = f"arn:{a.partition}:iam::{a.account_id}"
        eks = f"arn:{a.partition}:eks:{a.region}:{a.account_id}"
        own_roles = [names.role_arn(n) for n in (cfg.management_role_name, cfg.node_role_name, cfg.irsa_role_name)]
        pod_roles = [f"{iam}:role/{pattern}" for pattern in (
            "*-load-balancer-controller", "*-cluster-autoscaler", "*-state-exporter", "*-ebs-csi-driver",
            "*-karpenter-controller", "*-thanos", "*-CH-S3-Role")]
        return {
            "eks": [
                _allow("ManageClickHouseClusters", [
                    "eks:CreateCluster", "eks:DeleteCluster", "eks:UpdateClusterConfig", "eks:UpdateClusterVersion",
                    "eks:AssociateEncryptionConfig", "eks:CreateAddon", "eks:UpdateAddon", "eks:DeleteAddon",
                    "eks:CreateNodegroup", "eks:DeleteNodegroup", "eks:UpdateNodegroupConfig",
                    "eks:UpdateNodegroupVersion", "eks:CreatePodIdentityAssociation", "eks:TagResource",
                    "eks:UntagResource",
                ], [f"{eks}:{kind}/clickhouse-cloud-*" for kind in ("cluster", "addon", "nodegroup")]),
                _allow("ManageClickHousePodIdentities", [
                    "eks:DeletePodIdentityAssociation", "eks:UpdatePodIdentityAssociation", "eks:TagResource",
                    "eks:UntagResource",
                ], f"{eks}:podidentityassociation/clickhouse-cloud-*/*"),
                _allow("ReadEks", ["eks:Describe*", "eks:List*"], "*"),
            ],
            "compute": [
                _allow("ReadCompute", ["ec2:Describe*", "ec2:Get*", "elasticloadbalancing:Describe*",
                                       "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities"],
                       "*"),
                # Instances, their volumes and ENIs, AMIs (which have no account in their ARN): this region only.
                _allow("RunInstances", ["ec2:RunInstances", "ec2:ModifyInstanceAttribute",
                                        "ec2:ModifyNetworkInterfaceAttribute"], f"arn:{a.partition}:ec2:{a.region}:*:*"),
                _allow("LaunchTemplates", ["ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion",
                                           "ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplate"],
                       f"{ec2}:launch-template/*"),
                _allow("Volumes", "ec2:ModifyVolumeAttribute", f"{ec2}:volume/*"),
                _allow("NetworkInterfaces", ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
                       f"{ec2}:network-interface/*"),
                _allow("NetworkInterfacesInByocSubnets", "ec2:CreateNetworkInterface",
                       [f"{ec2}:subnet/*", f"{ec2}:security-group/*"], RESOURCE_TAGGED),
                _allow("TagNewResources", "ec2:CreateTags", f"{ec2}:*", REQUEST_TAGGED),
                _allow("TagByocResources", ["ec2:CreateTags", "ec2:DeleteTags"], f"{ec2}:*", RESOURCE_TAGGED),
                _allow("CreateSecurityGroupsInByocVpc", "ec2:CreateSecurityGroup", f"{ec2}:vpc/*", RESOURCE_TAGGED),
                _allow("CreateByocSecurityGroups", "ec2:CreateSecurityGroup", f"{ec2}:security-group/*",
                       REQUEST_TAGGED),
                _allow("ManageByocSecurityGroups", [
                    "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
                    "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:DeleteSecurityGroup",
                    "ec2:ModifySecurityGroupRules",
                ], f"{ec2}:security-group/*", RESOURCE_TAGGED),
                _allow("ManageEksClusterSecurityGroups", [
                    "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
                    "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:DeleteSecurityGroup",
                    "ec2:ModifySecurityGroupRules",
                ], f"{ec2}:security-group/*",
                    {"StringLike": {"aws:ResourceTag/aws:eks:cluster-name": "clickhouse-cloud-*"}}),
                _allow("SecurityGroupRules", ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
                                              "ec2:ModifySecurityGroupRules"], f"{ec2}:security-group-rule/*"),
                # PrivateLink to the BYOC service: ClickHouse publishes an endpoint service in front of its NLB.
                _allow("CreateEndpointService", "ec2:CreateVpcEndpointServiceConfiguration",
                       f"{ec2}:vpc-endpoint-service/*", REQUEST_TAGGED),
                _allow("ManageEndpointService", [
                    "ec2:DeleteVpcEndpointServiceConfigurations", "ec2:ModifyVpcEndpointServiceConfiguration",
                    "ec2:ModifyVpcEndpointServicePermissions", "ec2:StartVpcEndpointServicePrivateDnsVerification",
                ], f"{ec2}:vpc-endpoint-service/*", RESOURCE_TAGGED),
            ],
            "iam": [
                _allow("ReadIam", ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies",
                                   "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
                                   "iam:SimulatePrincipalPolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
                                   "iam:ListPolicyVersions", "iam:GetInstanceProfile", "iam:ListInstanceProfiles",
                                   "iam:GetOpenIDConnectProvider"],
                       [f"{iam}:role/*", f"{iam}:policy/*", f"{iam}:instance-profile/*", f"{iam}:oidc-provider/*"]),
                _allow("PassControlPlaneRole", "iam:PassRole", f"{iam}:role/*-k8s-control-plane",
                       {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}}),
                _allow("PassNodeRoles", "iam:PassRole", [node_role_arn, f"{iam}:role/*-k8s-worker",
                                                         f"{iam}:role/*-karpenter-node"],
                       {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "eks.amazonaws.com"]}}),
                _allow("PassPodRoles", "iam:PassRole", pod_roles,
                       {"StringEquals": {"iam:PassedToService": "pods.eks.amazonaws.com"}}),
                _allow("EksServiceLinkedRoles", "iam:CreateServiceLinkedRole", f"{iam}:role/aws-service-role/*",
                       {"StringEquals": {"iam:AWSServiceName": ["eks.amazonaws.com", "eks-nodegroup.amazonaws.com"]}}),
                _allow("CreateOidcProvider", ["iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"],
                       f"{iam}:oidc-provider/*", REQUEST_TAGGED),
                _allow("ManageOidcProvider", ["iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
                                              "iam:UpdateOpenIDConnectProviderThumbprint",
                                              "iam:DeleteOpenIDConnectProvider"],
                       f"{iam}:oidc-provider/*", RESOURCE_TAGGED),
                _allow("CreateControllerIdentities", ["iam:CreateRole", "iam:TagRole", "iam:CreatePolicy",
                                                      "iam:TagPolicy", "iam:CreateInstanceProfile",
                                                      "iam:TagInstanceProfile"],
                       [f"{iam}:role/*", f"{iam}:policy/*", f"{iam}:instance-profile/*"], REQUEST_TAGGED),
                _allow("ManageControllerIdentities", [
                    *ROLE_WRITE_ACTIONS, "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
                    "iam:TagPolicy", "iam:UntagPolicy", "iam:AddRoleToInstanceProfile",
                    "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile", "iam:TagInstanceProfile",
                    "iam:UntagInstanceProfile",
                ], [f"{iam}:role/*", f"{iam}:policy/*", f"{iam}:instance-profile/*"], RESOURCE_TAGGED),
                # Tagging any role clickhouse-byoc=true would otherwise hand it to the statement above, this one included.
                {"Sid": "NeverChangeThisStacksRoles", "Effect": "Deny", "Resource": own_roles, "Action": [
                    *ROLE_WRITE_ACTIONS, "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"]},
                {"Sid": "NeverAttachAdministratorPolicies", "Effect": "Deny", "Action": "iam:AttachRolePolicy",
                 "Resource": "*", "Condition": {"ArnEquals": {"iam:PolicyARN": [
                     f"arn:{a.partition}:iam::aws:policy/{p}" for p in ESCALATION_POLICIES]}}},
            ],
            "observe": [
                _allow("Identity", ["sts:GetCallerIdentity", "servicequotas:GetServiceQuota",
                                    "servicequotas:GetAWSDefaultServiceQuota"], "*"),
                _allow("ListLogGroups", ["logs:DescribeLogGroups", "logs:ListTagsForResource"], "*"),
                _allow("ReadByocLogs", ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
                       [f"{names.log_group_arn(key)}:*" for key in names.log_groups]),
                _allow("ReadByocBucketSettings", [
                    "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:GetEncryptionConfiguration",
                    "s3:GetBucketVersioning", "s3:GetLifecycleConfiguration", "s3:GetBucketPublicAccessBlock",
                    "s3:GetBucketTagging",
                ], [names.bucket_arn("backups"), names.bucket_arn("logs")]),
            ],
        }

    def _irsa_role(self, name: str) -> aws.iam.Role:
        names, cfg = self._names, self._names.config
        issuer = cfg.oidc_issuer_url.removeprefix("https://")
        trust = policy_document({
            "Effect": "Allow",
            "Principal": {"Federated": self._account.arn("iam", f"oidc-provider/{issuer}", regional=False)},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{cfg.namespace}:{cfg.service_account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }},
        })
        role = self._role(name, cfg.irsa_role_name,
                          f"ClickHouse pods ({cfg.namespace}/{cfg.service_account}): backups and logs", trust)
        backups = names.bucket_arn("backups")
        log_groups = [names.log_group_arn(key) for key in ("query", "error")]
        aws.iam.RolePolicy(
            name,
            role=role.id,
            policy=policy_document(
                _allow("ListBackups", ["s3:ListBucket", "s3:GetBucketLocation"], backups),
                _allow("ReadWriteBackups", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                            "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                       f"{backups}/*"),
                _allow("WriteClickHouseLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                       log_groups + [f"{arn}:log-stream:*" for arn in log_groups]),
            ),
            opts=self._child,
        )
        return role

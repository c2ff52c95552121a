"""The AWS provider double (pulumi-aws 7.x stands in here: it cannot be built on these machines)."""

from e2e.doubles.provider import Package

# Input properties of the resources this program creates that the Terraform AWS provider marks ForceNew (or
# RequiresReplace): changing one replaces the resource. Only what decides a replacement here is listed.
_FORCE_NEW = {
    "aws:ec2/vpc:Vpc": {"cidrBlock", "ipv4IpamPoolId"},
    "aws:ec2/subnet:Subnet": {"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"},
    "aws:ec2/securityGroup:SecurityGroup": {"vpcId", "name", "namePrefix", "description"},
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"securityGroupId"},
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {"securityGroupId"},
    "aws:ec2/routeTable:RouteTable": {"vpcId"},
    "aws:ec2/routeTableAssociation:RouteTableAssociation": {"subnetId", "gatewayId"},
    "aws:ec2/vpcEndpoint:VpcEndpoint": {"vpcId", "serviceName", "vpcEndpointType", "serviceRegion"},
    "aws:ec2/flowLog:FlowLog": {"vpcId", "subnetId", "trafficType", "logDestination", "logDestinationType",
                                "iamRoleArn", "maxAggregationInterval"},
    "aws:route53/zone:Zone": {"name"},
    "aws:route53/record:Record": {"zoneId", "name"},
    "aws:kms/key:Key": {"customerMasterKeySpec", "keyUsage"},
    "aws:kms/alias:Alias": {"name", "namePrefix"},
    "aws:secretsmanager/secret:Secret": {"name", "namePrefix"},
    "aws:secretsmanager/secretVersion:SecretVersion": {"secretId"},
    "aws:cloudwatch/logGroup:LogGroup": {"name", "namePrefix"},
    "aws:iam/role:Role": {"name", "namePrefix", "path"},
    "aws:iam/policy:Policy": {"name", "namePrefix", "path", "description"},
    "aws:iam/rolePolicy:RolePolicy": {"role", "name", "namePrefix"},
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {"role", "policyArn"},
    "aws:sns/topic:Topic": {"name", "namePrefix", "fifoTopic"},
    "aws:s3/bucket:Bucket": {"bucket", "bucketPrefix"},
}
# Every bucket configuration resource belongs to one bucket for life.
_S3_CONFIGURATIONS = ("LifecycleConfiguration", "OwnershipControls", "Policy", "PublicAccessBlock",
                      "ServerSideEncryptionConfiguration", "Versioning")
_FORCE_NEW.update({f"aws:s3/bucket{kind}:Bucket{kind}": {"bucket"} for kind in _S3_CONFIGURATIONS})

PACKAGE = Package(
    name="aws",
    sdk_distribution="pulumi_aws",
    force_new={typ: frozenset(props) for typ, props in _FORCE_NEW.items()},
    # pulumi_aws/secretsmanager/secret_version.py: additional_secret_outputs.
    secret_outputs={"aws:secretsmanager/secretVersion:SecretVersion":
                    frozenset({"secretBinary", "secretString", "secretStringWo"})},
    region_key="region",
)

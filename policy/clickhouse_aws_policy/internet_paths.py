"""No path between the stack's networks and the internet: no gateway created *or reused*, no public address.

Creating an internet gateway is only one way in. A route (separate, or inline in a route table) to a gateway that
already exists (``igw-...``), an egress-only or carrier gateway, a public IP asked for by an instance, launch template,
launch configuration, spot request or ECS service, and an existing Elastic IP associated with an instance or network
interface all open the same path without creating a gateway.

One exception can be declared per stack in policy config: egress-only NAT (``{"egressOnlyNat": true}`` on
no-internet-gateway, no-internet-route, no-nat-gateway and no-elastic-ip; a policy without it keeps its rule). Then an
internet gateway, public NAT gateways, their Elastic IPs and routes to the gateway pass those four, and
``egress-only-through-nat`` (always on) proves the shape: every route to an internet gateway leaves from route tables
associated only with subnets that hold nothing but NAT gateways and map no public IPs, and every Elastic IP belongs to
a NAT gateway. Nothing else gets a public address (no-public-ip-address, subnet-no-public-ip-on-launch) and nothing
admits the internet inbound (the security group policies): those stand in every case.
"""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_policy import PolicyConfigSchema, Severity

from .framework import Check, Resource, StackCheck, require_flag, resource_policy, stack_policy
from .values import is_unknown, walk


EGRESS_ONLY_NAT = "egressOnlyNat"
_EXCEPTION_SCHEMA = PolicyConfigSchema(properties={
    EGRESS_ONLY_NAT: {
        "type": "boolean",
        "default": False,
        "description": "The declared egress-only NAT exception: internet gateways, public NAT gateways, their Elastic "
                       "IPs and routes to the gateway are judged by egress-only-through-nat instead.",
    },
})


def _excepted(check: Check) -> bool:
    return check.config.get(EGRESS_ONLY_NAT) is True


IGW = "aws:ec2/internetGateway:InternetGateway"
EIP = "aws:ec2/eip:Eip"
NAT = "aws:ec2/natGateway:NatGateway"


def _forbidden(reason: str, excepted_types: tuple[str, ...] = ()):
    def validate(check: Check) -> None:
        if check.resource.type in excepted_types and _excepted(check):
            return
        check.report(reason)
    return validate


# Egress-only gateways are included: an IPv6 path out is as good for exfiltration as an IPv4 one, and nothing in a
# PrivateLink-only network needs it (AWS services are reached through VPC endpoints).
no_internet_gateway = resource_policy(
    "no-internet-gateway",
    "The stack creates or attaches no internet gateway, egress-only ones included.",
    Severity.HIGH,
    _forbidden("An internet gateway gives the VPC a route to the internet; reach AWS services through VPC endpoints.",
               (IGW, "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment")),
    types=[
        IGW,
        "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment",
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
    ],
    config_schema=_EXCEPTION_SCHEMA,
)


def _nat_gateway(check: Check) -> None:
    if _excepted(check):
        return
    connectivity = check.props.get("connectivityType")
    if is_unknown(connectivity):
        check.report("connectivityType is unknown until the update; only a private NAT gateway is allowed.")
    elif connectivity != "private":
        check.report(f"connectivityType is {connectivity or 'public (the default)'}: a public NAT gateway routes the "
                     "VPC to the internet. Only connectivityType 'private' is allowed.")


no_nat_gateway = resource_policy(
    "no-nat-gateway",
    "The stack creates no public NAT gateway.",
    Severity.HIGH,
    _nat_gateway,
    types=[NAT],
    config_schema=_EXCEPTION_SCHEMA,
)

# Inputs by which an Elastic IP lands on something other than a NAT gateway.
_EIP_TARGETS = ("instance", "networkInterface", "associateWithPrivateIp")


def _elastic_ip(check: Check) -> None:
    rtype = check.resource.type
    if _excepted(check) and rtype == "aws:ec2/natGatewayEipAssociation:NatGatewayEipAssociation":
        return
    if _excepted(check) and rtype == EIP:
        for key in _EIP_TARGETS:
            value = check.props.get(key)
            if is_unknown(value) or value:
                check.report(f"{key} is {'unknown until the update' if is_unknown(value) else value}: under the "
                             "egress-only NAT exception an Elastic IP may belong only to a NAT gateway.")
        return
    check.report("An Elastic IP is a public address; nothing in this stack may be reachable from the internet.")


no_elastic_ip = resource_policy(
    "no-elastic-ip",
    "The stack allocates no Elastic IP addresses and associates none it did not allocate.",
    Severity.HIGH,
    _elastic_ip,
    types=[
        EIP,
        "aws:ec2/eipAssociation:EipAssociation",
        "aws:ec2/natGatewayEipAssociation:NatGatewayEipAssociation",
    ],
    config_schema=_EXCEPTION_SCHEMA,
)


def _subnet(check: Check) -> None:
    default_subnet = check.resource.type == "aws:ec2/defaultSubnet:DefaultSubnet"
    require_flag(check, "mapPublicIpOnLaunch", False, default_subnet, "instances launched here get public IPs")


subnet_no_public_ip_on_launch = resource_policy(
    "subnet-no-public-ip-on-launch",
    "Subnets do not assign public IPs on launch.",
    Severity.HIGH,
    _subnet,
    types=["aws:ec2/subnet:Subnet", "aws:ec2/defaultSubnet:DefaultSubnet"],
)

ROUTE = "aws:ec2/route:Route"
ROUTE_TABLES = ("aws:ec2/routeTable:RouteTable", "aws:ec2/defaultRouteTable:DefaultRouteTable")
# Route targets that lead to the internet whatever their ID: egress-only and carrier (Wavelength) gateways.
_INTERNET_TARGETS = ("egressOnlyGatewayId", "carrierGatewayId")


def _route_problems(route: Mapping[str, Any], where: str, excepted: bool = False) -> list[str]:
    """What leads to the internet; under the exception routes to internet gateways are egress-only-through-nat's."""
    problems = []
    gateway = None if excepted else route.get("gatewayId")
    if is_unknown(gateway):
        problems.append(f"{where}.gatewayId is unknown until the update; it may be an internet gateway.")
    elif isinstance(gateway, str) and gateway.strip().lower().startswith("igw-"):
        problems.append(f"{where} sends traffic to internet gateway {gateway}.")
    for target in _INTERNET_TARGETS:
        value = route.get(target)
        if is_unknown(value) or (isinstance(value, str) and value):
            shown = "a gateway unknown until the update" if is_unknown(value) else value
            problems.append(f"{where} sends traffic to {target.removesuffix('Id')} {shown}: a path to the internet.")
    return problems


def _routes(check: Check) -> None:
    rtype = check.resource.type
    if rtype in ROUTE_TABLES:
        routes = check.props.get("routes")
        if is_unknown(routes):
            check.report("routes are unknown until the update; a route to the internet cannot be ruled out.")
            return
        found = [p for i, r in enumerate(routes if isinstance(routes, list) else [])
                 for p in (_route_problems(r, f"routes[{i}]", _excepted(check)) if isinstance(r, Mapping) else [])]
    else:
        where = "the association" if rtype != ROUTE else "the route"
        # A gateway association (edge routing) is never excepted: it steers the gateway's inbound traffic.
        found = _route_problems(check.props, where, _excepted(check) and rtype == ROUTE)
    for problem in found:
        check.report(problem)


no_internet_route = resource_policy(
    "no-internet-route",
    "No route (separate, inline or as a gateway association) leads to an internet, egress-only or carrier gateway.",
    Severity.HIGH,
    _routes,
    types=[ROUTE, *ROUTE_TABLES, "aws:ec2/routeTableAssociation:RouteTableAssociation"],
    config_schema=_EXCEPTION_SCHEMA,
)

# Inputs that ask AWS for a public address, wherever they sit (instances, launch template network interfaces,
# launch configurations, spot requests and fleets, ECS network configurations, ...).
PUBLIC_ADDRESS_INPUTS = frozenset({"associatePublicIpAddress", "assignPublicIp", "associateCarrierIpAddress"})


def _public_addresses(check: Check) -> None:
    for path, key, value in walk(check.props):
        if key not in PUBLIC_ADDRESS_INPUTS or isinstance(value, (list, dict)):
            continue
        if is_unknown(value):
            check.report(f"{path} is unknown until the update; a public address cannot be ruled out at preview.")
        elif str(value).strip().lower() in ("true", "enabled", "1"):
            check.report(f"{path} is {value}: the resource gets a public address reachable from the internet.")


no_public_ip_address = resource_policy(
    "no-public-ip-address",
    "Nothing asks for a public IP address (instances, launch templates, spot requests, ECS services, ...).",
    Severity.HIGH,
    _public_addresses,
    type_prefixes=("aws:",),
)

SUBNET = "aws:ec2/subnet:Subnet"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
MAIN_ASSOCIATION = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
# What may refer to an egress subnet besides its NAT gateways: its route table association, flow logs, network ACLs
# and tags put nothing in it.
_SUBNET_BYSTANDERS = frozenset({NAT, ASSOCIATION, "aws:ec2/flowLog:FlowLog", "aws:ec2/networkAclAssociation:NetworkAclAssociation",
                                "aws:ec2/networkAcl:NetworkAcl", "aws:ec2/tag:Tag"})


def _routes_to_gateways(check: StackCheck) -> list[tuple[Resource, list[Resource]]]:
    """Each route (or route table with inline routes) that may lead to an internet gateway, with its tables.

    A route's gateway is known by its recorded dependency on a gateway of the stack or by a literal ``igw-`` ID; one
    that cannot be resolved is reported, as the shape cannot be proven.
    """
    found = []
    for route in check.of_types([ROUTE]):
        gateway = route.props.get("gatewayId")
        in_stack = check.targets(route, "gatewayId", [IGW])
        literal = isinstance(gateway, str) and gateway.strip().lower().startswith("igw-")
        if literal and not in_stack:
            check.report(f"The route leads to internet gateway {gateway}, which is outside this stack: its shape "
                         "cannot be proven egress-only.", route.urn)
        elif is_unknown(gateway) and not in_stack and not route.property_dependencies.get("gatewayId"):
            check.report("gatewayId is unknown until the update and refers to nothing in the stack; it may be an "
                         "internet gateway whose shape cannot be proven egress-only.", route.urn)
        elif in_stack or literal:
            tables = check.targets(route, "routeTableId", ROUTE_TABLES)
            if not tables:
                check.report("The route to an internet gateway is in a route table outside this stack, whose subnets "
                             "cannot be proven to hold only NAT gateways.", route.urn)
            found.append((route, tables))
    for table in check.of_types(ROUTE_TABLES):
        routes = table.props.get("routes")
        inline = routes if isinstance(routes, list) else []
        gateways = [r.get("gatewayId") for r in inline if isinstance(r, Mapping)]
        to_igw = bool(check.of_urns(table.property_dependencies.get("routes", ()), [IGW])) or any(
            isinstance(g, str) and g.strip().lower().startswith("igw-") for g in gateways)
        if any(is_unknown(g) for g in gateways) and not table.property_dependencies.get("routes"):
            check.report("An inline route's gatewayId is unknown until the update and refers to nothing in the stack; "
                         "it may be an internet gateway whose shape cannot be proven egress-only.", table.urn)
        if to_igw:
            found.append((table, [table]))
    return found


def _table_problems(check: StackCheck, table: Resource) -> list[str]:
    """Why the subnets ``table`` serves do not hold only NAT gateways (or why that cannot be shown)."""
    if table.type != ROUTE_TABLES[0] or check.referrers(table, "routeTableId", [MAIN_ASSOCIATION], ROUTE_TABLES):
        return [f"route table {table.name} is a VPC's main table, which serves every subnet without its own table"]
    problems = []
    for association in check.referrers(table, "routeTableId", [ASSOCIATION], ROUTE_TABLES):
        subnets = check.targets(association, "subnetId", [SUBNET])
        if not subnets:
            problems.append(f"route table {table.name} is associated ({association.name}) with a subnet or gateway "
                            "outside this stack, which cannot be proven to hold only NAT gateways")
        for subnet in subnets:
            problems += _subnet_problems(check, subnet)
    return problems


def _subnet_problems(check: StackCheck, subnet: Resource) -> list[str]:
    problems = []
    if subnet.props.get("mapPublicIpOnLaunch") is not False:
        problems.append(f"subnet {subnet.name} routes to the internet gateway but does not set mapPublicIpOnLaunch false")
    occupants = sorted({f"{r.type.rsplit(':', 1)[-1]} {r.name}" for r in check.resources
                        if r.type not in _SUBNET_BYSTANDERS and r.urn != subnet.urn
                        and any(subnet.urn in urns for urns in r.property_dependencies.values())})
    if occupants:
        problems.append(f"subnet {subnet.name} routes to the internet gateway but holds more than NAT gateways: "
                        f"{', '.join(occupants)}")
    return problems


def _egress_only_through_nat(check: StackCheck) -> None:
    for source, tables in _routes_to_gateways(check):
        for table in tables:
            for problem in dict.fromkeys(_table_problems(check, table)):
                check.report(f"A route to an internet gateway must leave only from subnets holding nothing but NAT "
                             f"gateways: {problem}.", source.urn)
    for address in check.of_types([EIP]):
        users = check.referrers(address, "allocationId", [NAT, "aws:ec2/natGatewayEipAssociation:NatGatewayEipAssociation"],
                                [EIP], "allocationId")
        if not users:
            check.report("The Elastic IP belongs to no NAT gateway of this stack: only a NAT gateway may hold one.",
                         address.urn)


egress_only_through_nat = stack_policy(
    "egress-only-through-nat",
    "Routes to an internet gateway leave only from subnets holding nothing but NAT gateways; Elastic IPs only on NAT "
    "gateways.",
    Severity.HIGH,
    _egress_only_through_nat,
)

POLICIES = [
    no_internet_gateway,
    egress_only_through_nat,
    no_internet_route,
    no_nat_gateway,
    no_elastic_ip,
    no_public_ip_address,
    subnet_no_public_ip_on_launch,
]

"""No path between the stack's networks and the internet: no gateway created *or reused*, no public address.

Creating an internet gateway is only one way in. A route (separate, or inline in a route table) to a gateway that
already exists (``igw-...``), an egress-only or carrier gateway, a public IP asked for by an instance, launch template,
launch configuration, spot request or ECS service, and an existing Elastic IP associated with an instance or network
interface all open the same path without creating a gateway.
"""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_policy import Severity

from .framework import Check, require_flag, resource_policy
from .values import is_unknown, walk


def _forbidden(reason: str):
    def validate(check: Check) -> None:
        check.report(reason)
    return validate


# Egress-only gateways are included: an IPv6 path out is as good for exfiltration as an IPv4 one, and nothing in a
# PrivateLink-only network needs it (AWS services are reached through VPC endpoints).
no_internet_gateway = resource_policy(
    "no-internet-gateway",
    "The stack creates or attaches no internet gateway, egress-only ones included.",
    Severity.HIGH,
    _forbidden("An internet gateway gives the VPC a route to the internet; reach AWS services through VPC endpoints."),
    types=[
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment",
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
    ],
)


def _nat_gateway(check: Check) -> None:
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
    types=["aws:ec2/natGateway:NatGateway"],
)

no_elastic_ip = resource_policy(
    "no-elastic-ip",
    "The stack allocates no Elastic IP addresses and associates none it did not allocate.",
    Severity.HIGH,
    _forbidden("An Elastic IP is a public address; nothing in this stack may be reachable from the internet."),
    types=[
        "aws:ec2/eip:Eip",
        "aws:ec2/eipAssociation:EipAssociation",
        "aws:ec2/natGatewayEipAssociation:NatGatewayEipAssociation",
    ],
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


def _route_problems(route: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    gateway = route.get("gatewayId")
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
                 for p in (_route_problems(r, f"routes[{i}]") if isinstance(r, Mapping) else [])]
    else:
        where = "the association" if rtype != ROUTE else "the route"
        found = _route_problems(check.props, where)
    for problem in found:
        check.report(problem)


no_internet_route = resource_policy(
    "no-internet-route",
    "No route (separate, inline or as a gateway association) leads to an internet, egress-only or carrier gateway.",
    Severity.HIGH,
    _routes,
    types=[ROUTE, *ROUTE_TABLES, "aws:ec2/routeTableAssociation:RouteTableAssociation"],
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

POLICIES = [
    no_internet_gateway,
    no_internet_route,
    no_nat_gateway,
    no_elastic_ip,
    no_public_ip_address,
    subnet_no_public_ip_on_launch,
]

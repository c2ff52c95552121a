"""The provider doubles on their own, started as the CLI starts them and called over the ResourceProvider protocol.

The CLI tests rely on these behaviours; here each one is pinned down directly, with no CLI in between.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from typing import Any, Iterator

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from e2e.tests.support import PLUGINS
from scripts.offline import fakes

DIFF = provider_pb2.DiffResponse
VPC_URN = "urn:pulumi:dev::clickhouse-aws::clickhouse-aws:index:PrivateNetwork$aws:ec2/vpc:Vpc::network"
PASSWORD_URN = ("urn:pulumi:dev::clickhouse-aws::clickhouse-aws:index:ClickHouseService"
                "$random:index/randomPassword:RandomPassword::clickhouse-password")


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def plain(value: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(value)


@pytest.fixture(scope="module")
def provider() -> Iterator[Any]:
    """Start a double from e2e/plugins (``provider("aws")``) and return a stub; every double is stopped at the end."""
    started: list[tuple[subprocess.Popen, grpc.Channel]] = []

    def start(package: str) -> provider_pb2_grpc.ResourceProviderStub:
        proc = subprocess.Popen([str(PLUGINS / f"pulumi-resource-{package}"), "127.0.0.1:1"],
                                stdout=subprocess.PIPE, text=True)
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"the {package} double printed {port!r} instead of its port"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        started.append((proc, channel))
        return provider_pb2_grpc.ResourceProviderStub(channel)

    yield start
    for proc, channel in started:
        channel.close()
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def aws(provider) -> provider_pb2_grpc.ResourceProviderStub:
    stub = provider("aws")
    stub.Configure(provider_pb2.ConfigureRequest(variables={"aws:region": "us-east-1"}, acceptSecrets=True))
    return stub


@pytest.fixture(scope="module")
def random(provider) -> provider_pb2_grpc.ResourceProviderStub:
    stub = provider("random")
    stub.Configure(provider_pb2.ConfigureRequest(acceptSecrets=True))
    return stub


@pytest.mark.parametrize("package, distribution", [("aws", "pulumi_aws"), ("clickhouse", "pulumiverse_clickhouse"),
                                                   ("random", "pulumi_random")])
def test_each_double_reports_the_version_of_its_sdk(provider, package: str, distribution: str) -> None:
    assert provider(package).GetPluginInfo(empty_pb2.Empty()).version == metadata.version(distribution)


def test_aws_refuses_to_configure_without_a_region(provider) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        provider("aws").Configure(provider_pb2.ConfigureRequest(variables={}))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "aws:region" in failure.value.details()


def test_clickhouse_refuses_to_configure_without_an_api_key(provider) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        provider("clickhouse").Configure(provider_pb2.ConfigureRequest(
            variables={"clickhouse:organizationId": "3f1e6a52-8f4e-4d1c-9a63-0c2b7de9a001"}))
    assert "clickhouse:tokenKey" in failure.value.details() and "clickhouse:tokenSecret" in failure.value.details()
    assert "organizationId" not in failure.value.details()


def test_create_answers_from_the_offline_engines_table(aws) -> None:
    inputs = {"cidrBlock": "10.41.0.0/16", "enableDnsHostnames": True}
    created = aws.Create(provider_pb2.CreateRequest(urn=VPC_URN, properties=struct(inputs)))
    resource_id, outputs = fakes.resource_outputs("aws:ec2/vpc:Vpc", "network", inputs, "us-east-1")
    assert created.id == resource_id
    assert plain(created.properties) == {**inputs, **outputs}


@pytest.mark.parametrize("news, changes, replaces", [
    ({"cidrBlock": "10.41.0.0/16", "tags": {"env": "dev"}}, DIFF.DIFF_NONE, []),
    ({"cidrBlock": "10.41.0.0/16", "tags": {"env": "prod"}}, DIFF.DIFF_SOME, []),
    ({"cidrBlock": "10.43.0.0/16", "tags": {"env": "dev"}}, DIFF.DIFF_SOME, ["cidrBlock"]),
    ({"cidrBlock": rpc.UNKNOWN, "tags": {"env": "dev"}}, DIFF.DIFF_SOME, ["cidrBlock"]),
    ({"cidrBlock": "10.41.0.0/16", "tags": rpc.wrap_rpc_secret({"env": "dev"})}, DIFF.DIFF_NONE, []),
])
def test_diff_changes_and_replaces_from_the_inputs(aws, news: dict[str, Any], changes: int,
                                                   replaces: list[str]) -> None:
    olds = {"cidrBlock": "10.41.0.0/16", "tags": {"env": "dev"}}
    diff = aws.Diff(provider_pb2.DiffRequest(urn=VPC_URN, olds=struct(olds), old_inputs=struct(olds),
                                             news=struct(news)))
    assert diff.changes == changes
    assert list(diff.replaces) == replaces


def test_ignore_changes_hides_a_difference(aws) -> None:
    olds, news = {"cidrBlock": "10.41.0.0/16"}, {"cidrBlock": "10.43.0.0/16"}
    diff = aws.Diff(provider_pb2.DiffRequest(urn=VPC_URN, olds=struct(olds), old_inputs=struct(olds),
                                             news=struct(news), ignoreChanges=["cidrBlock"]))
    assert diff.changes == DIFF.DIFF_NONE


def test_an_adopted_vpcs_subnets_belong_to_it(aws) -> None:
    aws.Invoke(provider_pb2.InvokeRequest(tok="aws:ec2/getVpc:getVpc", args=struct({"id": "vpc-0adopted"})))
    subnet = aws.Invoke(provider_pb2.InvokeRequest(tok="aws:ec2/getSubnet:getSubnet",
                                                   args=struct({"id": "subnet-0a"})))
    assert plain(getattr(subnet, "return"))["vpcId"] == "vpc-0adopted"


def test_each_password_is_fresh_secret_and_as_asked(random) -> None:
    inputs = {"length": 32, "minUpper": 2, "minLower": 2, "minNumeric": 2, "minSpecial": 2, "overrideSpecial": "-_.~+="}
    results = []
    for _ in range(2):
        created = plain(random.Create(provider_pb2.CreateRequest(urn=PASSWORD_URN, properties=struct(inputs)))
                        .properties)
        assert rpc.is_rpc_secret(created["result"]) and rpc.is_rpc_secret(created["bcryptHash"])
        results.append(rpc.unwrap_rpc_secret(created["result"]))
    first, second = results
    assert first != second
    assert len(first) == 32 and set(first) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+=")
    assert sum(c.isupper() for c in first) >= 2 and sum(c in "-_.~+=" for c in first) >= 2


def test_a_password_survives_an_update_and_is_replaced_on_any_change(random) -> None:
    inputs = {"length": 24}
    created = random.Create(provider_pb2.CreateRequest(urn=PASSWORD_URN, properties=struct(inputs)))
    updated = random.Update(provider_pb2.UpdateRequest(urn=PASSWORD_URN, id=created.id, olds=created.properties,
                                                       news=struct(inputs)))
    assert plain(updated.properties)["result"] == plain(created.properties)["result"]
    diff = random.Diff(provider_pb2.DiffRequest(urn=PASSWORD_URN, olds=created.properties,
                                                old_inputs=struct(inputs), news=struct({"length": 32})))
    assert list(diff.replaces) == ["length"]

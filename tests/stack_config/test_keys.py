"""The key table and its reader: facts as data checked by one function, one message per broken fact, all at once."""

from __future__ import annotations

import pulumi
import pytest

import stack_config
from scripts.offline.engine import UNSET
from stack_config.keys import KEYS, KEYS_BY_NAME, PROVIDER_KEYS, ConfigReader, Key, value_problems


def key(**facts) -> Key:
    return Key("example", facts.pop("kind", str), "", "An example key.", **facts)


@pytest.mark.parametrize(("facts", "value", "expected"), [
    ({"pattern": r"vpc-[0-9a-f]{8}", "expected": "a VPC ID"}, "vpc-1234", ["'vpc-1234' is not a VPC ID"]),
    ({"pattern": r"vpc-[0-9a-f]{8}", "expected": "a VPC ID"}, "vpc-0123abcd", []),
    # The whole value must match, not a prefix of it.
    ({"pattern": r"vpc-[0-9a-f]{8}", "expected": "a VPC ID"}, "vpc-0123abcdX", ["'vpc-0123abcdX' is not a VPC ID"]),
    ({"cidr": True, "expected": "a CIDR"}, "10.0.0.1/16",
     ["'10.0.0.1/16' has host bits set; the network is '10.0.0.0/16': write that"]),
    # Prefix notation, written as AWS writes it: no bare address, no netmask, no padding.
    ({"cidr": True, "expected": "a CIDR"}, "10.0.0.0", ["'10.0.0.0' is not in prefix notation (address/length); expected a CIDR"]),
    ({"cidr": True, "expected": "a CIDR"}, "10.0.0.0/255.255.0.0",
     ["'10.0.0.0/255.255.0.0' is not in prefix notation (address/length); expected a CIDR"]),
    ({"cidr": True, "expected": "a CIDR"}, "10.0.0.0/08", ["'10.0.0.0/08' is not in normal form; write it as '10.0.0.0/8'"]),
    ({"cidr": True, "expected": "a CIDR"}, "10.0.0.0/8", []),
    ({"cidr": True, "private": True, "expected": "a private CIDR"}, "8.8.0.0/16",
     ["'8.8.0.0/16' is not a private range; expected a private CIDR"]),
    ({"cidr": True, "private": True, "expected": "a private CIDR"}, "0.0.0.0/0",
     ["'0.0.0.0/0' is not a private range; expected a private CIDR"]),
    ({"choices": ("a", "b")}, "c", ["'c' is not one of a, b"]),
    ({"choices": ("fast", "slow")}, "fats", ["'fats' is not one of fast, slow; did you mean 'fast'?"]),
    # Too many to list: the words for a valid value, and the closest one.
    ({"choices": tuple(f"r-{i}" for i in range(40)), "expected": "a known r"}, "r-7x", ["'r-7x' is not a known r; did you mean 'r-7'?"]),
    ({"kind": int, "minimum": 2, "why": "two zones survive one outage"}, 1,
     ["1 is below the minimum of 2: two zones survive one outage"]),
    ({"kind": int, "maximum": 28}, 29, ["29 is above the maximum of 28"]),
    # Two broken facts, two messages.
    ({"kind": int, "minimum": 8, "multiple_of": 4}, 6, ["6 is below the minimum of 8", "6 is not a multiple of 4"]),
    ({"kind": int, "minimum": 0, "maximum": 30}, 0, []),
    ({"required": "set it with `pulumi config set`"}, "", ["is not set: set it with `pulumi config set`"]),
    ({"pattern": "x+", "expected": "x's"}, "", []),  # unset and not required: nothing to check
    ({"secret": True, "pattern": "[a-z]{2,}", "expected": "letters"}, "A",
     ["the value (not shown: it is secret) is not letters"]),
])
def test_each_broken_fact_is_one_message(facts, value, expected):
    assert value_problems(key(**facts), value) == expected


def test_a_list_keys_facts_hold_for_every_item():
    ids = key(kind=list, pattern=r"sg-\d+", unique=True, expected="a security group ID")
    assert value_problems(ids, ["sg-1", "bad", "sg-1", "worse"]) == [
        "'bad' is not a security group ID", "'worse' is not a security group ID", "lists 'sg-1' more than once"]


def test_a_long_value_is_named_not_echoed():
    prefix = key(pattern="[a-z]+", expected="lower-case letters")
    assert value_problems(prefix, "A" * 5000) == [f"{'A' * 80!r}... (5000 characters) is not lower-case letters"]


def test_a_long_list_with_repeats_names_each_repeated_item_once():
    ids = key(kind=list, pattern="sg-[0-9]+", unique=True, expected="a security group ID")
    assert value_problems(ids, ["sg-1"] * 200_000 + ["sg-2"]) == ["lists 'sg-1' more than once"]


def test_a_region_in_the_value_must_be_the_stacks():
    arn = key(pattern=r"arn:(?P<region>[a-z0-9-]+):x", same_region=True, expected="an ARN", why="no cross-region use")
    assert value_problems(arn, "arn:eu-west-1:x", "us-east-1") == [
        "'arn:eu-west-1:x' is in eu-west-1 but the stack is in us-east-1: no cross-region use"]
    assert value_problems(arn, "arn:us-east-1:x", "us-east-1") == []
    assert value_problems(arn, "arn:eu-west-1:x", "") == [], "an unknown stack region is reported under aws:region"


def test_expected_may_name_the_stacks_region():
    url = key(pattern="https://.*", expected="https://{region}.example")
    assert value_problems(url, "http://x", "eu-west-1") == ["'http://x' is not https://eu-west-1.example"]


@pytest.mark.parametrize("entry", KEYS + PROVIDER_KEYS, ids=lambda k: k.name)
def test_every_default_satisfies_its_own_facts(entry):
    # A required key's default is the unset value, which is exactly what it reports.
    assert value_problems(entry, entry.default, "us-east-1") == ([f"is not set: {entry.required}"] if entry.required else [])


@pytest.mark.parametrize("entry", [k for k in KEYS + PROVIDER_KEYS if k.pattern or k.cidr or len(k.choices) > 25],
                         ids=lambda k: k.name)
def test_every_form_fact_says_what_is_expected(entry):
    assert entry.expected, f"{entry.name} has a form fact but no words for a valid value"


def test_secret_keys_are_exactly_the_credentials():
    assert [k.name for k in KEYS if k.secret] == ["metricsApiKeyId", "metricsApiKeySecret", "byocExternalId"]
    assert set(KEYS_BY_NAME) == {k.name for k in KEYS} and len(KEYS_BY_NAME) == len(KEYS)


def test_the_reader_reads_each_key_once_so_a_problem_shows_once():
    reader = ConfigReader({"clickhouse-aws:azCount": "1", "aws:region": "us-east-1"})
    assert reader.get("azCount") == reader.get("azCount") == 1
    assert not reader.valid("azCount")
    assert reader.problems == ["clickhouse-aws:azCount: 1 is below the minimum of 2: the endpoint needs at least 2 "
                               "availability zones to survive an AZ outage"]


def test_a_derived_default_is_checked_like_a_set_value():
    reader = ConfigReader({"aws:region": "us-east-1"})
    assert reader.get_or("serviceName", "ok-name", "derived") == "ok-name" and reader.valid("serviceName")
    reader = ConfigReader({"aws:region": "us-east-1"})
    assert reader.get_or("serviceName", "no/slash", "the default, derived from the stack name") == "no/slash"
    assert not reader.valid("serviceName")
    assert reader.problems[0].endswith("(the default, derived from the stack name)")


@pytest.mark.parametrize(("overrides", "key_name", "expected"), [
    ({"tags": ["a"]}, "tags", """expected an object whose values are strings, got '["a"]'"""),
    ({"tags": {"team": 1}}, "tags", """expected an object whose values are strings, got '{"team":1}'"""),
    ({"vpcCird": "10.0.0.0/16"}, "vpcCird", "unknown key; did you mean 'vpcCidr'? (known keys are listed in Pulumi.yaml)"),
    ({"aws:region": UNSET}, "aws:region", "is not set: run `pulumi config set aws:region us-east-1` (or your region)"),
    ({"aws:region": "us-eastt-1"}, "aws:region",
     "'us-eastt-1' is not an AWS region the AWS provider knows, such as us-east-1; did you mean 'us-east-1'?"),
    ({"aws:region": "mars-1"}, "aws:region", "'mars-1' is not an AWS region the AWS provider knows, such as us-east-1"),
    ({"clickhouse:organizationId": "my-org"}, "clickhouse:organizationId",
     "'my-org' is not an organization ID (a UUID from the ClickHouse Cloud console)"),
])
def test_a_value_of_the_wrong_shape_or_an_unknown_key_is_one_message(problem, overrides, key_name, expected):
    assert problem(key_name, overrides) == expected


@pytest.mark.parametrize(("name", "raw", "expected"), [
    ("idleScaling", "yes", "expected true or false, got 'yes'"),
    ("azCount", "three", "expected a whole number, got 'three'"),
    ("subnetIds", "subnet-1", "expected a list of strings, got 'subnet-1'"),
])
def test_the_reader_names_the_shape_it_expects(name, raw, expected):
    # The CLI refuses these stack files first, for the types Pulumi.yaml declares (tests/scripts/offline/test_engine.py);
    # the reader says what it expects of any config it is given.
    reader = ConfigReader({"aws:region": "us-east-1", f"clickhouse-aws:{name}": raw})
    reader.get(name)
    assert reader.problems == [f"clickhouse-aws:{name}: {expected}"]


def test_a_valid_organization_id_passes(load):
    load({"clickhouse:organizationId": "0B7A1D2C-3E4F-4A5B-8C6D-7E8F9A0B1C2D"})


def test_every_problem_is_reported_at_once(problems):
    found = problems({"idleTimeoutMinutes": 1, "numReplicas": 0, "secretRecoveryWindowDays": 2, "vpcCird": "x"})
    assert [line.split(":")[1] for line in found] == [
        "vpcCird", "idleTimeoutMinutes", "numReplicas", "secretRecoveryWindowDays"]


def test_config_errors_are_run_errors_so_the_cli_prints_no_traceback():
    # The Python language host prints a pulumi.RunError as its message alone; anything else gets a traceback.
    assert issubclass(stack_config.ConfigError, pulumi.RunError)
    assert str(stack_config.ConfigError(["a: b", "c: d"])) == "Invalid configuration for this stack:\n  - a: b\n  - c: d"



@pytest.mark.parametrize(("overrides", "key_name", "expected"), [
    # A namespace a letter off ours or a provider's is a slip; the key under it would be silently ignored.
    ({"clickhous-aws:vpcCidr": "10.0.0.0/16"}, "clickhous-aws:vpcCidr",
     "no program or provider reads the namespace 'clickhous-aws'; did you mean 'clickhouse-aws:vpcCidr'?"),
    ({"ClickHouse-AWS:azCount": "3"}, "ClickHouse-AWS:azCount",
     "no program or provider reads the namespace 'ClickHouse-AWS'; did you mean 'clickhouse-aws:azCount'?"),
    ({"aws:reigon": "us-east-1"}, "aws:reigon",
     "not a key the aws provider reads; did you mean 'region'? (see its configuration reference)"),
    ({"clickhouse:organisationId": "x"}, "clickhouse:organisationId",
     "not a key the clickhouse provider reads; did you mean 'organizationId'? (see its configuration reference)"),
    ({"clickhose:tokenKey": "x"}, "clickhose:tokenKey",
     "no program or provider reads the namespace 'clickhose'; did you mean 'clickhouse:tokenKey'?"),
])
def test_a_misspelt_namespace_or_provider_key_is_reported(problem, overrides, key_name, expected):
    assert problem(key_name, overrides) == expected


def test_provider_keys_come_from_the_installed_sdks(load):
    load({"aws:profile": "ops", "aws:skipRegionValidation": "false", "clickhouse:tokenKey": "k", "clickhouse:apiUrl": "u"})
    # Other tools' namespaces and Pulumi's own are theirs to check.
    load({"pulumi:disable-default-providers": '["aws"]', "my-team:owner": "data"})


def test_a_secret_key_in_plain_text_is_refused_without_echoing_it():
    source = {"aws:region": "us-east-1", "clickhouse-aws:byocExternalId": "ext-id-in-git"}
    reader = ConfigReader(source)
    reader.check_keys()
    assert reader.problems == [
        "clickhouse-aws:byocExternalId: is in plain text in the stack file; it is a secret: remove it and run "
        "`pulumi config set --secret clickhouse-aws:byocExternalId <value>` (and rotate it if it was committed)"]
    reader = ConfigReader(source, secret_keys=["clickhouse-aws:byocExternalId"])
    reader.check_keys()
    assert reader.problems == []


def test_the_runtime_knows_secret_keys_from_the_language_hosts_environment(monkeypatch):
    reader = ConfigReader()
    assert not reader.is_secret("clickhouse-aws:byocExternalId")
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", '["clickhouse-aws:byocExternalId"]')
    assert reader.is_secret("clickhouse-aws:byocExternalId")


@pytest.mark.parametrize(("name", "expected"), [
    ("azCount", 3), ("idleScaling", True), ("vpcCidr", "10.40.0.0/16"), ("reservedCidrs", []), ("tags", {}),
])
def test_a_key_left_empty_in_yaml_is_its_default(name, expected):
    # The CLI passes `key:` (YAML null) as the empty string (and warns that it does).
    reader = ConfigReader({"aws:region": "us-east-1", f"clickhouse-aws:{name}": ""})
    assert reader.get(name) == expected and reader.valid(name) and reader.problems == []


def test_a_required_key_left_empty_is_not_set():
    reader = ConfigReader({"aws:region": ""})
    reader.get("aws:region")
    assert reader.problems == ["aws:region: is not set: run `pulumi config set aws:region us-east-1` (or your region)"]



@pytest.mark.parametrize("entry", [k for k in KEYS if k.kind is list], ids=lambda k: k.name)
def test_no_list_key_takes_an_item_twice(entry):
    item = "10.50.0.0/16" if entry.cidr else "x"
    assert f"lists {item!r} more than once" in value_problems(entry, [item, item], "us-east-1")

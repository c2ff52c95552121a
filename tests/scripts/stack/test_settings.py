"""The pure decisions behind ``scripts.stack``: backend, secrets provider, stacks, policy files, confirmations."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.stack.errors import ExitCode, StackScriptError
from scripts.stack.settings import (
    Settings,
    color_for,
    confirmation_problem,
    is_protected,
    needs_passphrase,
    passphrase_problem,
    policy_arguments,
    resolve_settings,
    stack_file_secrets_provider,
)


def settings(tmp_path: Path, stack: str = "dev", backend: str | None = None, provider: str | None = None) -> Settings:
    return Settings(stack=stack, work_dir=tmp_path, backend_url=backend or f"file://{tmp_path}/.pulumi-state",
                    secrets_provider=provider)


def test_backend_defaults_to_the_repo_local_file_backend(repo: Path) -> None:
    resolved = resolve_settings("dev", backend_flag=None, secrets_flag=None, environ={}, work_dir=repo)
    assert resolved.backend_url == f"file://{repo}/.pulumi-state"
    assert resolved.secrets_provider is None


def test_flags_win_over_environment(repo: Path) -> None:
    environ = {"PULUMI_BACKEND_URL": "s3://env-bucket", "PULUMI_SECRETS_PROVIDER": "awskms://alias/env"}
    from_env = resolve_settings("prod", backend_flag=None, secrets_flag=None, environ=environ, work_dir=repo)
    assert (from_env.backend_url, from_env.secrets_provider) == ("s3://env-bucket", "awskms://alias/env")
    from_flags = resolve_settings("prod", backend_flag="s3://flag-bucket", secrets_flag="passphrase",
                                  environ=environ, work_dir=repo)
    assert (from_flags.backend_url, from_flags.secrets_provider) == ("s3://flag-bucket", "passphrase")


@pytest.mark.parametrize(("backend", "provider", "fragment"), [
    ("ftp://state", None, "Backend URL 'ftp://state'"),
    ("s3://bucket", "vault", "Secrets provider 'vault'"),
])
def test_invalid_backend_or_provider_is_a_usage_error(repo: Path, backend: str, provider: str | None,
                                                       fragment: str) -> None:
    with pytest.raises(StackScriptError) as raised:
        resolve_settings("dev", backend_flag=backend, secrets_flag=provider, environ={}, work_dir=repo)
    assert raised.value.code is ExitCode.USAGE
    assert fragment in raised.value.message


def test_any_stack_with_a_stack_file_is_a_stack(repo: Path) -> None:
    (repo / "Pulumi.staging.yaml").write_text("config: {}\n")
    resolved = resolve_settings("staging", backend_flag=None, secrets_flag=None, environ={}, work_dir=repo)
    assert resolved.stack == "staging"


@pytest.mark.parametrize("stack", ["qa", "../dev", "Pulumi.dev", ""])
def test_a_stack_without_a_stack_file_is_a_usage_error_naming_the_stacks(repo: Path, stack: str) -> None:
    with pytest.raises(StackScriptError) as raised:
        resolve_settings(stack, backend_flag=None, secrets_flag=None, environ={}, work_dir=repo)
    assert raised.value.code is ExitCode.USAGE
    assert f"no stack file Pulumi.{stack}.yaml" in raised.value.message
    assert "(stacks: dev, prod)" in raised.value.message


@pytest.mark.parametrize(("backend", "provider", "expected"), [
    ("file:///repo/.pulumi-state", None, True),
    ("s3://bucket/prefix", None, True),
    ("s3://bucket/prefix", "awskms://alias/pulumi?region=us-east-1", False),
    ("s3://bucket/prefix", "passphrase", True),
    ("https://api.pulumi.com", None, False),
])
def test_needs_passphrase(backend: str, provider: str | None, expected: bool) -> None:
    assert needs_passphrase(backend, provider) is expected


def test_passphrase_problem_names_both_variables(tmp_path: Path) -> None:
    problem = passphrase_problem(settings(tmp_path), environ={})
    assert problem is not None and problem.code is ExitCode.CREDENTIALS
    assert "PULUMI_CONFIG_PASSPHRASE " in problem.message and "PULUMI_CONFIG_PASSPHRASE_FILE" in problem.message
    # An empty passphrase is a valid one.
    assert passphrase_problem(settings(tmp_path), environ={"PULUMI_CONFIG_PASSPHRASE": ""}) is None


def test_stack_file_provider_is_honoured(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text(
        "secretsprovider: awskms://alias/pulumi?region=us-east-1\nencryptedkey: AQICAH...\nconfig: {}\n")
    prod = settings(tmp_path, "prod", backend="s3://bucket")
    assert stack_file_secrets_provider(prod) == "awskms://alias/pulumi?region=us-east-1"
    assert passphrase_problem(prod, environ={}) is None
    (tmp_path / "Pulumi.dev.yaml").write_text("encryptionsalt: v1:abc:def\nconfig: {}\n")
    assert stack_file_secrets_provider(settings(tmp_path)) == "passphrase"


@pytest.mark.parametrize("content", [b"config: [unclosed\n", b"config:\n  a: \xff\n"], ids=["yaml", "utf-8"])
def test_an_unreadable_stack_file_is_a_usage_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_bytes(content)
    with pytest.raises(StackScriptError) as raised:
        passphrase_problem(settings(tmp_path), environ={})
    assert raised.value.code is ExitCode.USAGE and "Pulumi.dev.yaml is not a valid stack file" in raised.value.message


def test_policy_arguments_are_absolute_per_stack(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "config.prod.json").write_text("{}")
    assert policy_arguments(settings(tmp_path, "prod")) == {
        "policy_packs": [str(tmp_path / "policy")],
        "policy_pack_configs": [str(tmp_path / "policy" / "config.prod.json")],
    }
    with pytest.raises(StackScriptError) as raised:
        policy_arguments(settings(tmp_path, "dev"))
    assert raised.value.code is ExitCode.USAGE and "policy/config.dev.json" in raised.value.message


@pytest.mark.parametrize(("command", "stack", "yes", "needed"), [
    ("up", "prod", False, True),
    ("destroy", "prod", False, True),
    ("up", "prod", True, False),
    ("destroy", "prod", True, False),
    ("up", "dev", False, False),
    ("destroy", "dev", False, False),
    ("refresh", "prod", False, False),
    ("preview", "prod", False, False),
])
def test_confirmation_rule(repo: Path, command: str, stack: str, yes: bool, needed: bool) -> None:
    problem = confirmation_problem(command, settings(repo, stack), yes)
    assert (problem is not None) is needed
    if problem is not None:
        assert problem.code is ExitCode.CONFIRMATION_REQUIRED
        assert problem.message == (f"`{command}` on stack 'prod' changes protected resources (clickhouse-aws:protect is "
                                   "on): re-run with --yes to confirm.")


@pytest.mark.parametrize(("stack_file", "protected"), [
    ("config:\n  clickhouse-aws:protect: true\n", True),
    ("config:\n  clickhouse-aws:protect: false\n", False),
    ("config:\n  clickhouse-aws:protect: 'False'\n", False),  # as `pulumi config set` writes it
    ("config:\n  protect: false\n", False),  # the project's namespace left out, which the CLI accepts
    ("config:\n  aws:region: us-east-1\n", True),  # the key's default
    ("config:\n", True),
    ("", True),
    ("config:\n  clickhouse-aws:protect: maybe\n", True),  # the program refuses it; ask rather than guess
    ("config:\n  clickhouse-aws:protect:\n    secure: AAABAK\n", True),
    ("- not a mapping\n", True),
])
def test_any_protected_stack_needs_yes_whatever_its_name(tmp_path: Path, stack_file: str, protected: bool) -> None:
    (tmp_path / "Pulumi.staging.yaml").write_text(stack_file)
    assert is_protected(settings(tmp_path, "staging")) is protected
    assert (confirmation_problem("destroy", settings(tmp_path, "staging"), yes=False) is not None) is protected


def test_an_unreadable_stack_file_stops_the_confirmation_check_with_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.staging.yaml").write_text("config: [unclosed\n")
    with pytest.raises(StackScriptError) as raised:
        confirmation_problem("destroy", settings(tmp_path, "staging"), yes=False)
    assert raised.value.code is ExitCode.USAGE and "Pulumi.staging.yaml is not a valid stack file" in raised.value.message


def test_cli_colour_follows_the_terminal() -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    class Pipe:
        def isatty(self) -> bool:
            return False

    assert color_for(Tty()) == "always"  # type: ignore[arg-type]
    assert color_for(Pipe()) == "never"  # type: ignore[arg-type]

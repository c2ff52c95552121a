"""Pure decisions of ``scripts.stack``: which backend, secrets provider, policy files and confirmations apply.

Nothing here talks to the Pulumi CLI, so every rule is tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, TextIO

import yaml

from scripts.offline import stack_yaml
from scripts.project import REPO, stack_file, stack_names
from scripts.stack.errors import ExitCode, StackScriptError
from stack_config.keys import KEYS_BY_NAME, PROJECT, parse

# On a protected stack a mistaken `up` or `destroy` is expensive: they need an explicit --yes.
CONFIRM_COMMANDS = frozenset({"up", "destroy"})
PROTECT = KEYS_BY_NAME["protect"]
PROTECT_KEY = f"{PROJECT}:{PROTECT.name}"

POLICY_DIR = "policy"
STATE_DIR = ".pulumi-state"
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")

# Self-managed ("DIY") backends and Pulumi Cloud (https, also self-hosted Cloud).
_DIY_SCHEMES = ("file://", "s3://", "gs://", "azblob://")
_CLOUD_SCHEMES = ("https://", "http://")
_PROVIDER_SCHEMES = ("awskms://", "gcpkms://", "azurekeyvault://", "hashivault://")
_NAMED_PROVIDERS = ("passphrase", "default")


@dataclass(frozen=True)
class Settings:
    """Where a command runs: the stack, the project directory, the backend and the secrets provider for new stacks."""

    stack: str
    work_dir: Path
    backend_url: str
    secrets_provider: str | None

    @property
    def policy_dir(self) -> Path:
        return self.work_dir / POLICY_DIR

    @property
    def policy_config(self) -> Path:
        return self.policy_dir / f"config.{self.stack}.json"


def default_backend_url(work_dir: Path) -> str:
    """A file backend inside the repository (``.pulumi-state`` is git-ignored)."""
    return f"file://{work_dir / STATE_DIR}"


def resolve_settings(
    stack: str,
    *,
    backend_flag: str | None,
    secrets_flag: str | None,
    environ: Mapping[str, str],
    work_dir: Path = REPO,
) -> Settings:
    """Flags win over the environment, which wins over the repo-local file backend; nothing else is hard-coded.

    A stack is any with a stack file ``Pulumi.<stack>.yaml`` in ``work_dir``.
    """
    known = stack_names(work_dir)
    if stack not in known:
        raise StackScriptError(
            ExitCode.USAGE,
            f"Unknown stack '{stack}': there is no stack file Pulumi.{stack}.yaml in {work_dir} (stacks: "
            f"{', '.join(known) or 'none'}). Add one, with the config the stack needs, to use a new stack.",
        )
    backend = backend_flag or environ.get("PULUMI_BACKEND_URL") or default_backend_url(work_dir)
    if not backend.startswith(_DIY_SCHEMES + _CLOUD_SCHEMES):
        raise StackScriptError(
            ExitCode.USAGE,
            f"Backend URL '{backend}' is not one Pulumi understands: use file://<dir>, s3://<bucket>[/prefix], "
            "gs://, azblob:// or https://<Pulumi Cloud>.",
        )
    provider = secrets_flag or environ.get("PULUMI_SECRETS_PROVIDER") or None
    if provider is not None and provider not in _NAMED_PROVIDERS and not provider.startswith(_PROVIDER_SCHEMES):
        raise StackScriptError(
            ExitCode.USAGE,
            f"Secrets provider '{provider}' is not valid: use passphrase, awskms://alias/<name>?region=<region>, "
            "gcpkms://, azurekeyvault:// or hashivault://.",
        )
    return Settings(stack=stack, work_dir=work_dir, backend_url=backend, secrets_provider=provider)


def _stack_document(settings: Settings) -> dict[str, Any]:
    """``Pulumi.<stack>.yaml`` as a mapping (empty when there is none); a usage error when it cannot be read."""
    path = stack_file(settings.stack, settings.work_dir)
    if not path.is_file():
        return {}
    try:
        data: Any = stack_yaml.load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise StackScriptError(ExitCode.USAGE, f"{path.name} is not a valid stack file: {err}") from None
    return data if isinstance(data, dict) else {}


def stack_file_secrets_provider(settings: Settings) -> str | None:
    """The provider recorded in ``Pulumi.<stack>.yaml`` by ``pulumi stack init``; None when the file says none."""
    data = _stack_document(settings)
    if data.get("secretsprovider"):
        return str(data["secretsprovider"])
    return "passphrase" if data.get("encryptionsalt") else None


def needs_passphrase(backend_url: str, provider: str | None) -> bool:
    """Self-managed backends default to the passphrase provider; Pulumi Cloud defaults to its own."""
    if provider is None:
        return backend_url.startswith(_DIY_SCHEMES)
    return provider == "passphrase"


def passphrase_problem(settings: Settings, environ: Mapping[str, str]) -> StackScriptError | None:
    """The credentials error to raise before touching the stack, when its passphrase cannot be found.

    An empty passphrase is valid for Pulumi, so only the variables' presence counts.
    """
    provider = settings.secrets_provider or stack_file_secrets_provider(settings)
    if not needs_passphrase(settings.backend_url, provider) or any(v in environ for v in PASSPHRASE_VARS):
        return None
    return StackScriptError(
        ExitCode.CREDENTIALS,
        f"Stack '{settings.stack}' keeps its secrets with the passphrase provider (backend {settings.backend_url}), "
        "and no passphrase is set. Set PULUMI_CONFIG_PASSPHRASE to the stack's passphrase, or "
        "PULUMI_CONFIG_PASSPHRASE_FILE to a file that holds it. Teams should use an s3:// backend with "
        "--secrets-provider 'awskms://alias/<key>?region=<region>' instead.",
    )


def policy_arguments(settings: Settings) -> dict[str, list[str]]:
    """The policy pack and its per-stack config, as absolute paths (the CLI resolves relative ones against its cwd).

    There is deliberately no way to leave the pack out.
    """
    for path in (settings.policy_dir, settings.policy_config):
        if not path.exists():
            raise StackScriptError(
                ExitCode.USAGE,
                f"{path.relative_to(settings.work_dir)} is missing; the policy pack always runs with preview and up.",
            )
    return {"policy_packs": [str(settings.policy_dir)], "policy_pack_configs": [str(settings.policy_config)]}


def is_protected(settings: Settings) -> bool:
    """Whether the stack protects its stateful resources: its ``clickhouse-aws:protect`` as the stack file sets it
    (``pulumi config set`` writes there too), else the key's default. A value that is not plainly true or false, such
    as a ``secure:`` one, counts as protected: the program refuses it, and asking for --yes is the safe side."""
    config = _stack_document(settings).get("config")
    config = config if isinstance(config, dict) else {}
    raw = config.get(PROTECT_KEY, config.get(PROTECT.name, PROTECT.default))
    try:
        return bool(parse(PROTECT, raw))
    except ValueError:
        return True


def confirmation_problem(command: str, settings: Settings, yes: bool) -> StackScriptError | None:
    """`up` and `destroy` on a protected stack need --yes; the error says so without running anything more."""
    if yes or command not in CONFIRM_COMMANDS or not is_protected(settings):
        return None
    return StackScriptError(
        ExitCode.CONFIRMATION_REQUIRED,
        f"`{command}` on stack '{settings.stack}' changes protected resources ({PROTECT_KEY} is on): re-run with "
        "--yes to confirm.",
    )


def color_for(stream: TextIO) -> str:
    """Let the CLI colour its progress only when a person is watching; logs and pipes stay plain text."""
    isatty = getattr(stream, "isatty", None)
    return "always" if isatty is not None and isatty() else "never"

"""ECS task definitions keep credentials out of their containers' environment.

A credential in a container's ``environment`` is stored in the task definition, readable by anyone who may describe
it and kept in every revision, where ``secrets`` (Secrets Manager or SSM references) is resolved only when the task
starts. (A task's public IP, ``assignPublicIp`` on a service or task set, is ``no-public-ip-address``'s.)
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from pulumi_policy import Severity

from .credentials import is_reference_value, is_sensitive_name, words
from .framework import Check, resource_policy
from .values import is_unknown

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


def is_credential_name(name: str) -> bool:
    """A variable that holds a credential: a sensitive name (PASSWORD, TOKEN, SECRET, API_KEY...) or one ending in
    KEY (SIGNING_KEY), unless it names a reference (..._KEY_ID, ..._KMS_KEY, ..._ARN)."""
    parts = words(name)
    return is_sensitive_name(name) or (bool(parts) and parts[-1] == "key" and tuple(parts[-2:]) != ("kms", "key"))


def _environment(definitions: Any) -> Iterator[tuple[str, Any, Any]]:
    """(container, variable name, value) for every environment entry."""
    for container in definitions if isinstance(definitions, list) else []:
        if not isinstance(container, dict):
            continue
        for entry in container.get("environment") or []:
            if isinstance(entry, dict):
                yield str(container.get("name", "?")), entry.get("name"), entry.get("value")


def _no_plaintext_secrets(check: Check) -> None:
    raw = check.props.get("containerDefinitions")
    # Unknown until the update means built from other resources' outputs: there is nothing to read yet, and what a
    # program writes literally is always known at preview.
    if raw is None or is_unknown(raw):
        return
    try:
        definitions = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as err:
        check.report(f"containerDefinitions is not valid JSON ({err.msg}); it cannot be verified.")
        return
    for container, name, value in _environment(definitions):
        if not isinstance(name, str) or not is_credential_name(name):
            continue
        if isinstance(value, str) and (value == "" or is_reference_value(value)):
            continue
        check.report(f"container {container!r} sets {name} in its environment, where the value is stored in the "
                     "task definition in plain text; pass it in secrets (valueFrom a Secrets Manager secret or SSM "
                     "parameter) instead.")


ecs_task_no_plaintext_secrets = resource_policy(
    "ecs-task-no-plaintext-secrets",
    "ECS task definitions pass credentials as secrets, never as plain environment values.",
    Severity.HIGH,
    _no_plaintext_secrets,
    types=[TASK_DEFINITION],
)

POLICIES = [ecs_task_no_plaintext_secrets]

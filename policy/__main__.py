"""The CrossGuard policy pack: the CLI runs this file (``python -m pulumi.policy <engine> <pack dir>``)."""

import importlib.util
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this file with the pack directory on sys.path, where secrets.py would shadow the standard library's
# `secrets`; take it off and load the directory as a package under a fixed name, whatever the directory is called.
_PACK_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _PACK_DIR]
_spec = importlib.util.spec_from_file_location(
    "clickhouse_aws_policy", _PACK_DIR / "__init__.py", submodule_search_locations=[str(_PACK_DIR)])
policies = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(policies)

PolicyPack(
    name=policies.PACK_NAME,
    description="Keeps ClickHouse behind PrivateLink: no public exposure, one region, encryption, IAM trust, secrets.",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies.POLICIES,
)

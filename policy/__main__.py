"""The CrossGuard policy pack: the CLI runs this file (``python -u -m pulumi.policy <engine> <pack dir>``).

``pulumi.policy`` executes it with ``runpy.run_path(<pack dir>)``, which puts the pack directory first on
``sys.path``, so the policies import as the top-level package ``clickhouse_aws_policy``.
"""

from clickhouse_aws_policy import DESCRIPTION, PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    description=DESCRIPTION,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)

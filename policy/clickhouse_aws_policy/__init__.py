"""CrossGuard policies for the clickhouse-aws project, one module per concern.

``POLICIES`` lists every policy in report order; ``policy/__main__.py`` only wraps it in a ``PolicyPack``. The package
has a name of its own because the CLI imports it from the pack directory as a top-level package, where a plain name
(``secrets``, ``policy``) could shadow or be shadowed by another module.
"""

from . import (
    cloudformation,
    containers,
    credentials,
    encryption,
    iam,
    internet_paths,
    monitoring,
    network_exposure,
    region,
    resource_policies,
)

PACK_NAME = "clickhouse-aws-policy"
DESCRIPTION = "Keeps ClickHouse behind PrivateLink: no public exposure, one region, encryption, IAM trust, secrets."

POLICIES = [
    *network_exposure.POLICIES,
    *internet_paths.POLICIES,
    *resource_policies.POLICIES,
    *region.POLICIES,
    *encryption.POLICIES,
    *iam.POLICIES,
    *credentials.POLICIES,
    *cloudformation.POLICIES,
    *containers.POLICIES,
    *monitoring.POLICIES,
]

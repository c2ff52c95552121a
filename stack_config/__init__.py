"""Stack configuration: read once into frozen dataclasses and checked before any resource is declared.

``load()`` reads every key and raises ``ConfigError`` listing every problem at once; ``resolve_layout()`` then checks
what AWS reports about the network, and ``check_account()`` the account the credentials reach. ``ConfigError`` is a ``pulumi.RunError``, so the CLI prints the message without
a traceback. The key table is ``keys.KEYS``; each area (``network``, ``clickhouse``, ``secret``, ``byoc``) keeps its
dataclass beside the checks that relate its keys.
"""

from stack_config.keys import KEYS, ConfigError
from stack_config.stack import StackConfig, check_account, load, resolve_layout

__all__ = ["KEYS", "ConfigError", "StackConfig", "check_account", "load", "resolve_layout"]

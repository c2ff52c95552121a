"""boto3 sessions for tests that reuse botocore's parsed service models.

Speed only, behaviour is unchanged: every ``boto3.Session()`` re-parses botocore's JSON service models (EC2's alone
takes a large part of a test's set-up); the parsed models are read-only data, so one loader serves every session.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.loaders
import botocore.session

_LOADER = botocore.loaders.create_loader()


def shared_botocore_session() -> botocore.session.Session:
    """A fresh botocore session (own event handlers, credentials and config) with the shared model loader."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return core


def new_session(**kwargs: Any) -> boto3.Session:
    """A fresh boto3 session that reuses the already parsed service models."""
    return boto3.Session(botocore_session=shared_botocore_session(), **kwargs)

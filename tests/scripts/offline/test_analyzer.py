"""The analyzer client's view of the installed SDKs (the pack itself is tested under tests/policy)."""

from __future__ import annotations

from importlib import metadata

from scripts.offline.analyzer import plugin_version


def test_plugin_versions_come_from_the_installed_sdks() -> None:
    assert plugin_version("aws") == metadata.version("pulumi_aws")
    assert plugin_version("random") == metadata.version("pulumi_random")
    # pulumiverse-clickhouse's pulumi-plugin.json names no version: the wheel's is the plugin's.
    assert plugin_version("clickhouse") == metadata.version("pulumiverse_clickhouse")
    assert plugin_version("no-such-package") == ""

"""The password secret's config: its recovery window, which KMS key encrypts it, and the password's version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from stack_config.keys import ConfigReader


@dataclass(frozen=True)
class SecretConfig:
    recovery_window_days: int
    create_kms_key: bool
    kms_key_arn: Optional[str]
    # Raising it rotates the password.
    password_version: int = 1


def read_secret(r: ConfigReader) -> SecretConfig:
    window = r.get("secretRecoveryWindowDays")
    # The key's facts bound it to 0-30; Secrets Manager also refuses 1 to 6.
    r.check(not 0 < window < 7, "secretRecoveryWindowDays", f"{window} must be 0 (delete at once) or between 7 and 30 days")
    key = r.get("passwordKmsKey")
    return SecretConfig(window, key == "create", key if key not in ("", "create") else None,
                        r.get("clickhousePasswordVersion"))

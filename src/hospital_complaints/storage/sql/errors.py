"""Errors of the SQL store. Every message names what was wrong and what to do, in en + zh."""

from __future__ import annotations

from ...errors import ConfigError, HospitalComplaintsError
from ..keys import EncryptionKeyError

__all__ = ["DatabaseUnreachable", "EncryptionKeyError", "SchemaTooNew", "StorageError"]


class StorageError(HospitalComplaintsError):
    """The database holds something the store cannot use (missing or damaged data)."""


class DatabaseUnreachable(ConfigError):
    """The database could not be reached. The message names the host, never the password."""


class SchemaTooNew(ConfigError):
    """The database was migrated by a newer version of the software than this one."""

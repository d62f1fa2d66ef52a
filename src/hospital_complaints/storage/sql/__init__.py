"""The SQL store: SQLite (embedded default), PostgreSQL and MariaDB, via SQLAlchemy Core.

Events are stored append-only and hash-chained (:func:`verify_chain`); personal data is
encrypted at rest under a :class:`KeyRing` (``HC_ENCRYPTION_KEYS``); the schema is created and
migrated by the Alembic scripts shipped here (:meth:`SqlStore.upgrade`).
"""

from .config import DEFAULT_URL, database_url, key_ring_for, open_store
from .crypto import ENV_VAR, KeyRing
from .errors import DatabaseUnreachable, EncryptionKeyError, StorageError
from .uow import SqlStore, SqlUnitOfWork
from .verify import Problem, verify_chain

__all__ = [
           "DEFAULT_URL",
           "ENV_VAR",
           "DatabaseUnreachable",
           "EncryptionKeyError",
           "KeyRing",
           "Problem",
           "SqlStore",
           "SqlUnitOfWork",
           "StorageError",
           "database_url",
           "key_ring_for",
           "open_store",
           "verify_chain",
]

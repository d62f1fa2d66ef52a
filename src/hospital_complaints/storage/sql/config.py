"""Open the store a deployment is configured for: URL, key ring, schema and prefix.

| variable                 | meaning                                                         |
|--------------------------|-----------------------------------------------------------------|
| HC_DATABASE_URL          | database URL; the CLI's --db overrides it                       |
| HC_ENCRYPTION_KEYS       | AES-256 keys (URL-safe base64), comma-separated, current first  |
| HC_ENCRYPTION_KEY_FILE   | a file holding the keys instead (one per line, current first)   |
| HC_DB_SCHEMA             | PostgreSQL schema / MariaDB database for the tables             |
| HC_DB_TABLE_PREFIX       | table name prefix (default hc_)                                 |

For the embedded SQLite default only, when no key is configured, a key file is created beside
the database (``hospital-complaints.db.key``, readable by its owner only) so that the demo
and small installations work out of the box. Keep that file apart from database backups.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ...errors import ConfigError
from .crypto import ENV_VAR, KeyRing
from .uow import SqlStore

DEFAULT_URL = "sqlite:///hospital-complaints.db"
KEY_FILE_VAR = "HC_ENCRYPTION_KEY_FILE"


def database_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--db``, else ``HC_DATABASE_URL``, else ``sqlite:///hospital-complaints.db``."""
    env = os.environ if environ is None else environ
    return explicit or env.get("HC_DATABASE_URL") or DEFAULT_URL


def key_ring_for(url: str, environ: Mapping[str, str] | None = None) -> KeyRing:
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR):
        return KeyRing.parse(env[ENV_VAR])
    if env.get(KEY_FILE_VAR):
        return _read_key_file(Path(env[KEY_FILE_VAR]))
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database URL {url!r} is not valid: {exc}",
                          f"数据库地址 {url!r} 无效") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(f"{parsed.database}.key")
        if not path.exists():
            path.write_text(KeyRing.generate_key() + "\n", encoding="ascii")
            path.chmod(0o600)
            print(f"created encryption key file {path} (keep it apart from database backups)",
                  file=sys.stderr)
        return _read_key_file(path)
    raise ConfigError(
        f"no encryption key for {parsed.render_as_string(hide_password=True)}: set {ENV_VAR} "
        f"or {KEY_FILE_VAR} (personal data is always encrypted at rest)",
        f"未配置加密密钥：请设置 {ENV_VAR} 或 {KEY_FILE_VAR}（个人信息必须加密存储）",
    )


def _read_key_file(path: Path) -> KeyRing:
    try:
        lines = path.read_text(encoding="ascii").split()
    except OSError as exc:
        raise ConfigError(f"cannot read encryption key file {path}: {exc.strerror}",
                          f"无法读取密钥文件 {path}") from exc
    return KeyRing.parse(lines)


def open_store(url: str | None = None, environ: Mapping[str, str] | None = None, *,
               upgrade: bool = True, migrations: Sequence[str | Path] = ()) -> SqlStore:
    """The configured store, migrated to the newest schema unless ``upgrade=False``.

    ``migrations`` are plugins' Alembic version directories
    (:meth:`~hospital_complaints.plugins.manager.HCPluginManager.migration_locations`),
    upgraded together with the core's tables."""
    env = os.environ if environ is None else environ
    resolved = database_url(url, env)
    store = SqlStore(resolved, key_ring=key_ring_for(resolved, env),
                     schema=env.get("HC_DB_SCHEMA") or None,
                     table_prefix=env.get("HC_DB_TABLE_PREFIX", "hc_"))
    if upgrade:
        store.upgrade(version_locations=migrations)
    return store

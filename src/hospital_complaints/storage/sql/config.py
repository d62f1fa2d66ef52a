"""Open the store a deployment is configured for: URL, key ring, schema and prefix.

The settings come from the ``database`` section of the settings tree
(:class:`~hospital_complaints.settings.DatabaseSettings`: ``HC_DATABASE_URL``,
``HC_ENCRYPTION_KEYS``, ``HC_ENCRYPTION_KEY_FILE``, ``HC_DB_SCHEMA``, ``HC_DB_TABLE_PREFIX``).
The functions that take ``environ`` are kept for hosts of release 0.1; they build that section
from the mapping through the settings loader.

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
from ...settings import DatabaseSettings, Settings
from ..keys import ENV_VAR, KeyRing
from .uow import SqlStore

DEFAULT_URL = "sqlite:///hospital-complaints.db"
KEY_FILE_VAR = "HC_ENCRYPTION_KEY_FILE"


def _section(environ: Mapping[str, str] | None) -> DatabaseSettings:
    return Settings.load(environ).database


def database_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--db``, else ``HC_DATABASE_URL``, else ``sqlite:///hospital-complaints.db``."""
    return explicit or _section(environ).url


def key_ring_for(url: str, environ: Mapping[str, str] | None = None) -> KeyRing:
    """:func:`key_ring_for_database` with the database section read from ``environ``."""
    return key_ring_for_database(_section(environ).model_copy(update={"url": url}))


def key_ring_for_database(db: DatabaseSettings) -> KeyRing:
    """The key ring for the database at ``url``: ``HC_ENCRYPTION_KEYS``, else
    ``HC_ENCRYPTION_KEY_FILE``, else (SQLite files only) the key file beside the database.

    A key file is created only for a database that holds no encrypted data yet (a new or
    empty one), with mode 0600 from its first byte. For a database that already holds
    encrypted data and has no key configured, nothing is created: a :class:`ConfigError`
    names the key id the data needs, so a moved or lost key file is noticed instead of data
    being written under a new key that the old data does not open with.
    """
    url = db.url
    if db.encryption_keys is not None:
        return KeyRing.parse(db.encryption_keys.get_secret_value())
    if db.encryption_key_file is not None:
        return read_key_file(db.encryption_key_file)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database URL {_safe(url)!r} is not valid: {exc}",
                          f"数据库地址 {_safe(url)!r} 无效") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(parsed.database)
        path = Path(f"{parsed.database}.key")
        if not path.exists():
            if not database.parent.is_dir():
                raise ConfigError(
                    f"the folder {str(database.parent)!r} of the database {str(database)!r} does "
                    "not exist; create it first or choose another --db path",
                    f"数据库 {str(database)!r} 所在的文件夹 {str(database.parent)!r} 不存在；"
                    "请先创建或换一个 --db 路径",
                )
            needed = key_ids_in_sqlite(database, db.table_prefix)
            if needed:
                raise ConfigError(
                    f"the database {str(database)!r} holds personal data encrypted with key id "
                    f"{', '.join(needed)}, but its key file {str(path)!r} is missing and no key "
                    f"is configured. Put the key file back (or set {ENV_VAR} / {KEY_FILE_VAR}); "
                    "no new key is created for a database that holds data",
                    f"数据库 {str(database)!r} 中的个人信息使用密钥 {', '.join(needed)} 加密，"
                    f"但密钥文件 {str(path)!r} 不存在，也未配置 {ENV_VAR} / {KEY_FILE_VAR}。"
                    "请恢复密钥文件；已有数据的数据库不会自动生成新密钥",
                )
            if create_key_file(path):
                print(f"created encryption key file {path} (mode 0600; keep it apart from "
                      "database backups) 已创建加密密钥文件", file=sys.stderr)
        return read_key_file(path)
    raise ConfigError(
        f"no encryption key for {parsed.render_as_string(hide_password=True)}: set {ENV_VAR} "
        f"or {KEY_FILE_VAR} (personal data is always encrypted at rest; "
        "`hospital-complaints keys generate` makes a key)",
        f"未配置加密密钥：请设置 {ENV_VAR} 或 {KEY_FILE_VAR}（个人信息必须加密存储；"
        "可用 hospital-complaints keys generate 生成密钥）",
    )


def key_file_path(db: DatabaseSettings) -> Path | None:
    """The key file the key ring is read from (``HC_ENCRYPTION_KEY_FILE``, or the file
    beside a SQLite database), or ``None`` when the keys come from ``HC_ENCRYPTION_KEYS``."""
    if db.encryption_keys is not None:
        return None
    if db.encryption_key_file is not None:
        return db.encryption_key_file
    parsed = make_url(db.url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(f"{parsed.database}.key")
    return None


def _safe(url: str) -> str:
    """A URL for an error message, without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1][:80]


def create_key_file(path: Path, keys: Sequence[str] | None = None) -> bool:
    """Write a new key file (mode 0600 from the first byte: it is created with that mode,
    never chmod-ed afterwards). Returns False if somebody else created it first."""
    text = "\n".join(keys or [KeyRing.generate_key()]) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return True


def replace_key_file(path: Path, keys: Sequence[str]) -> None:
    """Replace a key file atomically (a 0600 temporary file, renamed over the old one)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    tmp.unlink(missing_ok=True)
    create_key_file(tmp, keys)
    os.replace(tmp, path)


def key_ids_in_sqlite(database: Path, prefix: str = "hc_") -> list[str]:
    """The key ids the SQLite file's encrypted data needs (newest first; ``[]`` for a file
    that does not exist or holds no encrypted data). Read-only; every table of the store
    with a ``key_id`` column is looked at (plugins' tables too)."""
    if not database.exists() or database.stat().st_size == 0:
        return []
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE ? ESCAPE '\\'",
            (prefix.replace("_", "\\_") + "%",))]
        found: dict[str, None] = {}
        for table in tables:
            columns = {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
            if "key_id" in columns:
                for (key_id,) in conn.execute(
                        f'SELECT DISTINCT key_id FROM "{table}" WHERE key_id IS NOT NULL '
                        "LIMIT 10"):
                    found[str(key_id)] = None
        return list(found)
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def read_key_file(path: Path) -> KeyRing:
    try:
        lines = path.read_text(encoding="ascii").split()
    except OSError as exc:
        raise ConfigError(f"cannot read encryption key file {path}: {exc.strerror}",
                          f"无法读取密钥文件 {path}（{exc.strerror}）") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"encryption key file {path} is not a key file (not ASCII)",
                          f"密钥文件 {path} 格式错误（不是 ASCII 文本）") from exc
    return KeyRing.parse(lines)


def open_store(url: str | DatabaseSettings | None = None,
               environ: Mapping[str, str] | None = None, *, upgrade: bool = True,
               migrations: Sequence[str | Path] = ()) -> SqlStore:
    """The configured store, migrated to the newest schema unless ``upgrade=False``.

    ``url`` is a :class:`DatabaseSettings` section (what :func:`~hospital_complaints.
    bootstrap` passes), or a URL (or ``None``) completed from ``environ`` (release 0.1's
    form). ``migrations`` are plugins' Alembic version directories
    (:meth:`~hospital_complaints.plugins.manager.HCPluginManager.migration_locations`),
    upgraded together with the core's tables. The key ring is checked against the data
    before anything is written (:meth:`SqlStore.check_key_ring`)."""
    if isinstance(url, DatabaseSettings):
        db = url
    else:
        db = _section(environ)
        if url:
            db = db.model_copy(update={"url": url})
    store = SqlStore(db.url, key_ring=key_ring_for_database(db), schema=db.schema_name,
                     table_prefix=db.table_prefix)
    if upgrade:
        store.upgrade(version_locations=migrations)
    store.check_key_ring()
    if upgrade:
        store.refresh_listing()
    return store

"""``SqlStore`` and ``SqlUnitOfWork``: the storage protocols on SQLAlchemy Core.

SQLite (a file) is the embedded default; PostgreSQL (psycopg 3) and MariaDB (PyMySQL) are
supported. Reads run in short transactions; ``commit()`` runs one write transaction that
checks idempotency keys (unique constraint), bumps each case's ``version`` with
``UPDATE ... WHERE version = loaded`` (0 rows means :class:`ConcurrencyConflict`), locks the
chain head and appends the hash-chained events. Nothing is written unless all of it is.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError

from ...domain.case import Case
from ...domain.departments import normalise
from ...domain.events import Event
from ...domain.events.stored import envelope, unwrap
from ...domain.taxonomy import OPEN_STATES
from ...domain.views import summarize
from ...domain.workflow import rebuild
from ...errors import ConcurrencyConflict, ConfigError, NotFound
from ...plugins.types import NotificationFailure
from ..base import DuplicateIntake, ListingQuery
from .chain import global_hash, row_hash
from .crypto import KeyRing, merge_personal, split_personal
from .deliveries import SqlDeliveryQueue, SqlLocks
from .errors import DatabaseUnreachable, EncryptionKeyError, SchemaTooNew, StorageError
from .surveys import SqlSurveyStore
from .tables import GENESIS, Tables, make_tables

MIGRATIONS = Path(__file__).with_name("migrations")
#: the listing columns migration 0006 added (``refresh_listing`` fills them for older rows)
READ_SIDE = ("kind", "channel", "categories", "department_key", "received_s", "summary")
#: event types that change a case's exam links (the imaging link projection follows them)
LINKING_EVENTS = frozenset({"complaint_registered", "exam_linked"})


def _normalise_url(url: str | URL) -> URL:
    try:
        u = make_url(url)
    except ArgumentError:
        shown = str(url).split("@")[-1][:80]
        raise ConfigError(
            f"database URL {shown!r} is not valid; use sqlite:///file.db, "
            "postgresql://user@host/db or mariadb://user:pw@host/db",
            f"数据库地址 {shown!r} 无效；示例：sqlite:///file.db、postgresql://user@host/db、"
            "mariadb://user:pw@host/db") from None
    backend = u.get_backend_name()
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    elif backend in {"mysql", "mariadb"}:
        if "+" not in u.drivername:
            u = u.set(drivername=f"{backend}+pymysql")
        if "charset" not in u.query:
            u = u.update_query_dict({"charset": "utf8mb4"})
    elif backend not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"unsupported database {backend!r}; use sqlite, postgresql or mariadb/mysql",
            f"不支持的数据库 {backend!r}；请使用 sqlite、postgresql 或 mariadb/mysql",
        )
    return u


_REVISION = re.compile(r"^revision\s*(?::[^=]+)?=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]+)?=\s*(.+)$", re.M)


def declared_revisions(locations: Sequence[str | Path]) -> tuple[set[str], set[str]] | None:
    """Every revision in these Alembic version directories, and the newest of each branch,
    read from the files' ``revision`` / ``down_revision`` lines (``None`` if a file is not
    plain)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for location in locations:
        for path in Path(location).glob("*.py"):
            text = path.read_text(encoding="utf-8")
            found = _REVISION.search(text)
            if found is None:
                if path.name == "__init__.py":
                    continue
                return None
            down = _DOWN.search(text)
            if down is None:
                return None
            value = down.group(1).strip()
            if value != "None":
                names = re.findall(r"['\"]([^'\"]+)['\"]", value)
                if not names:
                    return None
                parents.update(names)
            revisions.add(found.group(1))
    return (revisions, revisions - parents) if revisions else None


class SqlStore:
    """One database (and schema/prefix) holding complaints.

    >>> store = SqlStore("sqlite:///complaints.db", key_ring=KeyRing.from_env())  # doctest: +SKIP
    >>> store.upgrade()                                                             # doctest: +SKIP
    >>> service = build_service(uow_factory=store.unit_of_work)                     # doctest: +SKIP
    """

    def __init__(self, url: str | URL, *, key_ring: KeyRing, schema: str | None = None,
                 table_prefix: str = "hc_", echo: bool = False) -> None:
        self.url = _normalise_url(url)
        self.key_ring = key_ring
        self.schema = schema
        self.prefix = table_prefix
        self.dialect = self.url.get_backend_name()
        if self.dialect == "sqlite" and schema is not None:
            raise ConfigError(
                "SQLite has no schemas here; use table_prefix to separate stores",
                "SQLite 不支持 schema；请使用 table_prefix 区分",
            )
        self.tables: Tables = make_tables(table_prefix, schema)
        self.engine: Engine = self._make_engine(echo)
        #: event type -> the notifiers that get a delivery of it (set by the App from
        #: ``hc_register_notifiers``); ``None``: no durable notifications
        self.delivery_route: Callable[[str], Sequence[str]] | None = None

    @cached_property
    def deliveries(self) -> SqlDeliveryQueue:
        """The durable notification queue (``storage/sql/deliveries.py``)."""
        return SqlDeliveryQueue(self)

    @cached_property
    def surveys(self) -> SqlSurveyStore:
        """Survey invitations and responses (``storage/sql/surveys.py``)."""
        return SqlSurveyStore(self)

    @cached_property
    def locks(self) -> SqlLocks:
        """Worker locks and exam-source watermarks."""
        return SqlLocks(self)

    # -- engine ----------------------------------------------------------------------------

    def _make_engine(self, echo: bool) -> Engine:
        try:
            return self._create_engine(echo)
        except ImportError as exc:  # the driver is an optional extra
            extra = {"postgresql": "postgresql", "mysql": "mariadb",
                     "mariadb": "mariadb"}.get(self.dialect, self.dialect)
            raise ConfigError(
                f"the {self.dialect} database driver is not installed ({exc.name or exc}); "
                f"install it with: pip install \"hospital-complaints[{extra}]\"",
                f"未安装 {self.dialect} 数据库驱动；请执行：pip install "
                f"\"hospital-complaints[{extra}]\"",
            ) from None

    def _create_engine(self, echo: bool) -> Engine:
        if self.dialect == "sqlite":
            engine = sa.create_engine(self.url, echo=echo,
                                      connect_args={"check_same_thread": False, "timeout": 30})

            @sa_event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

            @sa_event.listens_for(engine, "begin")
            def _on_begin(conn: Connection) -> None:
                write = conn.get_execution_options().get("hc_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

            return engine
        return sa.create_engine(self.url, echo=echo, isolation_level="READ COMMITTED",
                                pool_size=10, max_overflow=20)

    def _where(self) -> str:
        host = self.url.host or "localhost"
        port = f":{self.url.port}" if self.url.port else ""
        if self.dialect == "sqlite":
            return f"SQLite file {self.url.database}"
        return f"{self.dialect} at {host}{port} (database {self.url.database})"

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except (OperationalError, DBAPIError) as exc:
            detail = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
            if self.url.password:
                detail = detail.replace(str(self.url.password), "***")
            shown = self.url.render_as_string(hide_password=True)
            raise DatabaseUnreachable(
                f"cannot connect to {self._where()} ({shown}): {detail}. Check that the server "
                "runs and the URL, user and password are right",
                f"无法连接数据库 {self._where()}（{shown}）：{detail}。请检查服务是否运行以及地址、"
                "用户名和密码",
            ) from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._connect() as conn:
            conn.execution_options(hc_write=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    # -- schema ----------------------------------------------------------------------------

    def upgrade(self, revision: str = "heads",
                version_locations: Sequence[str | Path] = ()) -> None:
        """Create or migrate the tables (Alembic, shipped in the package; no alembic.ini).

        ``version_locations`` adds plugins' Alembic branches (directories of revision files,
        from the ``hc_register_migrations`` hook); they are upgraded together with the core's
        chain to ``revision`` (default ``heads``: every branch to its newest revision).
        A branch recorded in the database whose directory is not given now (its plugin is not
        installed or disabled) is left as it is, so the core's chain still upgrades.

        A database already at every head is recognised without loading Alembic (the heads are
        read from the revision files), which keeps a command's start quick.
        """
        if revision == "heads" and self._at_heads([MIGRATIONS / "versions",
                                                   *version_locations]):
            return
        from alembic import command as alembic_command
        from alembic.config import Config as AlembicConfig
        from alembic.script import ScriptDirectory

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
        locations = dict.fromkeys(str(Path(p).resolve()) for p in
                                  (MIGRATIONS / "versions", *version_locations))
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations",
                            os.pathsep.join(locations).replace("%", "%%"))
        cfg.attributes["hc_schema"] = self.schema
        cfg.attributes["hc_prefix"] = self.prefix
        known = {r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()}
        with self._connect() as conn, self._migration_lock(conn):
            if self.schema is not None and self.dialect == "postgresql":
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                conn.commit()
            version = self._version_table(conn)
            hidden: list[str] = []
            if version is not None:
                rows = [r[0] for r in conn.execute(sa.select(version.c.version_num))]
                hidden = [r for r in rows if r not in known]
                newer = [r for r in hidden if r.isdigit()]  # the core's ids are numbers
                if newer:
                    raise SchemaTooNew(
                        f"the database {self._where()} is at schema revision {newer[0]}, newer "
                        "than this version of hospital-complaints knows; upgrade the software "
                        "(pip install -U hospital-complaints) before using this database",
                        f"数据库 {self._where()} 的结构版本 {newer[0]} 比当前软件更新；请先升级 "
                        "hospital-complaints 再使用该数据库",
                    )
                if hidden:  # a branch of a plugin not loaded now: keep it out of Alembic's way
                    conn.execute(sa.delete(version).where(version.c.version_num.in_(hidden)))
            cfg.attributes["connection"] = conn
            try:
                alembic_command.upgrade(cfg, revision)
            except BaseException:
                # MariaDB/MySQL commit DDL implicitly, so the deletion above may be committed
                # already: put the set-aside rows back in a transaction of their own.
                if hidden and version is not None:
                    conn.rollback()
                    self._restore_versions(version, hidden)
                raise
            if hidden and version is not None:
                conn.execute(sa.insert(version), [{"version_num": r} for r in hidden])
            conn.commit()

    def _at_heads(self, locations: Sequence[str | Path]) -> bool:
        """Whether the version table holds the newest revision of every branch in
        ``locations`` (``False`` when in doubt: then Alembic decides). Other rows may only be
        branches of plugins not loaded now: revisions ``locations`` do not know, which
        :meth:`upgrade` would set aside and put back unchanged (a number is not one: it is
        a newer core schema, refused there)."""
        declared = declared_revisions(locations)
        if declared is None:
            return False
        known, heads = declared
        try:
            with self._connect() as conn:
                version = self._version_table(conn)
                if version is None:
                    return False
                stored = {r[0] for r in conn.execute(sa.select(version.c.version_num))}
        except (OperationalError, DBAPIError):
            return False
        return heads <= stored and not any(r in known or r.isdigit() for r in stored - heads)

    @contextmanager
    def _migration_lock(self, conn: Connection) -> Iterator[None]:
        """One migrating process at a time per schema and prefix (two workers or a worker
        and the CLI starting together would both create the same tables): a session-level
        advisory lock on PostgreSQL, a named lock on MariaDB. The version table is read after
        the lock is taken, so the second process sees the first one's work. SQLite
        serialises writers itself."""
        key = f"hospital-complaints:migrate:{self.schema or ''}:{self.prefix}"
        if self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.rollback()
                conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
                conn.commit()
        elif self.dialect in ("mysql", "mariadb"):
            got = conn.execute(sa.text("SELECT GET_LOCK(:k, 600)"), {"k": key[:64]}).scalar()
            conn.commit()
            if got != 1:
                raise ConcurrencyConflict(
                    "another process has been migrating this database for 10 minutes; try "
                    "again when it has finished",
                    "另一个进程正在升级数据库结构（已超过10分钟），请稍后重试")
            try:
                yield
            finally:
                conn.rollback()
                conn.execute(sa.text("SELECT RELEASE_LOCK(:k)"), {"k": key[:64]})
                conn.commit()
        else:
            yield

    def _restore_versions(self, version: sa.Table, revisions: list[str]) -> None:
        """Insert the version rows among ``revisions`` that are missing (after a failure)."""
        with self._connect() as conn, conn.begin():
            present = {r[0] for r in conn.execute(sa.select(version.c.version_num))}
            missing = [r for r in revisions if r not in present]
            if missing:
                conn.execute(sa.insert(version), [{"version_num": r} for r in missing])

    def _version_table(self, conn: Connection) -> sa.Table | None:
        """The Alembic version table when it exists (``<prefix>alembic_version``)."""
        name = f"{self.prefix}alembic_version"
        if not sa.inspect(conn).has_table(name, schema=self.schema):
            return None
        return sa.Table(name, sa.MetaData(), sa.Column("version_num", sa.String(32)),
                        schema=self.schema)

    def check_key_ring(self) -> None:
        """Refuse a key ring that cannot read this database: the newest encrypted event's key
        must be in the ring (else the key file or ``HC_ENCRYPTION_KEYS`` belongs to another
        database, or the key was replaced instead of added). Checked before anything is
        written; a database without encrypted data accepts any ring."""
        e = self.tables.events
        try:
            with self.read() as conn:
                row = conn.execute(sa.select(e.c.key_id).where(e.c.key_id.is_not(None))
                                   .order_by(e.c.global_seq.desc()).limit(1)).first()
        except DBAPIError:  # no tables yet (upgrade=False on a new database)
            return
        if row is not None and row.key_id not in self.key_ring.ids:
            raise EncryptionKeyError(
                f"{self._where()} holds personal data encrypted with key id {row.key_id}, but "
                f"the configured key ring has {', '.join(self.key_ring.ids)}: the key file or "
                "HC_ENCRYPTION_KEYS belongs to another database, or the key was replaced "
                "instead of added (new key first, old keys after it). Nothing was written",
                f"{self._where()} 中的个人信息使用密钥 {row.key_id} 加密，但当前配置的密钥为 "
                f"{', '.join(self.key_ring.ids)}：密钥文件或 HC_ENCRYPTION_KEYS 不属于该数据库，"
                "或密钥被替换而非追加（新密钥在前，旧密钥在后）。未写入任何数据",
            )

    def refresh_listing(self, batch: int = 500) -> int:
        """Fill the read-side columns of case rows that lack them (rows written before
        migration 0006), from the cases' events; returns how many rows were filled. Runs when
        the store is opened with its key ring (``open_store``); a no-op afterwards."""
        c, e = self.tables.cases, self.tables.events
        filled = 0
        while True:
            with self.read() as conn:
                refs = [str(r[0]) for r in conn.execute(
                    sa.select(c.c.reference).where(c.c.summary.is_(None))
                    .order_by(c.c.id).limit(batch))]
            if not refs:
                return filled
            with self.read() as conn:
                rows = [dict(r._mapping) for r in conn.execute(
                    sa.select(e).where(e.c.complaint_ref.in_(refs))
                    .order_by(e.c.complaint_ref, e.c.seq))]
            cases = {ref: rebuild([self.event_from_row(r) for r in group])
                     for ref, group in itertools.groupby(rows, key=lambda r: r["complaint_ref"])}
            with self.write() as conn:
                for ref in refs:
                    case = cases.get(ref)
                    if case is None:  # a listing row without events: audit verify names it
                        conn.execute(sa.update(c).where(c.c.reference == ref)
                                     .values(summary="{}"))
                        continue
                    columns = SqlUnitOfWork.case_columns(case)
                    conn.execute(sa.update(c).where(
                        (c.c.reference == ref) & (c.c.version == case.version))
                        .values(**{k: columns[k] for k in READ_SIDE}))
                    filled += 1

    def unit_of_work(self) -> SqlUnitOfWork:
        """A new unit of work: pass ``store.unit_of_work`` as ``build_service(uow_factory=)``."""
        return SqlUnitOfWork(self)

    def chain_head(self) -> tuple[int, str]:
        """(last global seq, its hash): publish it elsewhere to anchor the log."""
        h = self.tables.chain_head
        with self.read() as conn:
            row = conn.execute(sa.select(h.c.global_seq, h.c.hash).where(h.c.id == 1)).one()
        return int(row.global_seq), str(row.hash)

    # -- rows <-> events -------------------------------------------------------------------

    @staticmethod
    def _aad(row: dict[str, Any]) -> bytes:
        return f"{row['complaint_ref']}|{row['seq']}|{row['event_id']}".encode()

    def decrypt_row(self, row: dict[str, Any]) -> list[Any]:
        where = f"complaint {row['complaint_ref']} event {row['seq']}"
        plain = self.key_ring.decrypt(row["key_id"], row["personal"], self._aad(row), where)
        values: list[Any] = json.loads(plain)
        return values

    def event_from_row(self, row: dict[str, Any]) -> Event:
        """The event a row holds. The ``payload`` column is a versioned envelope (schema,
        from- and to-state, data) or, for release 0.1's rows, the bare data (docs/events.md)."""

        where = f"complaint {row['complaint_ref']} event {row['seq']}"
        stored = json.loads(row["payload"])
        if row["personal"] is not None:
            stored = merge_personal(stored, self.decrypt_row(row), where)
        try:
            found = unwrap(row["type"], stored, where)
        except ValueError as exc:
            raise StorageError(str(exc), f"{where} 的事件内容已损坏") from None
        return Event(event_id=row["event_id"], complaint_ref=row["complaint_ref"],
                     seq=row["seq"], type=row["type"], actor=row["actor"],
                     at=datetime.fromisoformat(row["at"]), reason=row["reason"],
                     payload=found.data, from_state=found.from_state,
                     to_state=found.to_state, schema_version=found.version)

    def row_from_event(self, event: Event) -> dict[str, Any]:
        """The row of an event: personal values of the payload encrypted, the rest in the
        ``payload`` column as an envelope (a release-0.1 event, without states, stays bare)."""

        redacted, values = split_personal(event.type, event.payload, event.schema_version)
        stored = envelope(event.type, event.schema_version, event.from_state, event.to_state,
                          redacted)
        row: dict[str, Any] = {
            "complaint_ref": event.complaint_ref, "seq": event.seq, "event_id": event.event_id,
            "type": event.type, "actor": event.actor, "at": event.at.isoformat(),
            "reason": event.reason,
            "payload": json.dumps(stored, ensure_ascii=False, sort_keys=True),
            "personal": None, "key_id": None,
        }
        if values:
            plain = json.dumps(values, ensure_ascii=False).encode("utf-8")
            row["key_id"], row["personal"] = self.key_ring.encrypt(plain, self._aad(row))
        return row

    # -- maintenance -----------------------------------------------------------------------

    def rotate(self, batch: int = 500) -> int:
        """Re-encrypt personal data not under the current key; returns the rows changed.

        The hashes do not cover the ciphertext, so the chain stays valid.
        """
        e = self.tables.events
        current = self.key_ring.current_id
        changed = 0
        while True:
            with self.write() as conn:
                rows = [dict(r._mapping) for r in conn.execute(
                    sa.select(e.c.global_seq, e.c.complaint_ref, e.c.seq, e.c.event_id,
                              e.c.personal, e.c.key_id)
                    .where(e.c.personal.is_not(None), e.c.key_id != current)
                    .order_by(e.c.global_seq).limit(batch))]
                for row in rows:
                    plain = json.dumps(self.decrypt_row(row), ensure_ascii=False)
                    key_id, blob = self.key_ring.encrypt(plain.encode("utf-8"), self._aad(row))
                    conn.execute(sa.update(e).where(e.c.global_seq == row["global_seq"])
                                 .values(personal=blob, key_id=key_id))
            changed += len(rows)
            if len(rows) < batch:
                return changed


class _SqlRepository:
    def __init__(self, store: SqlStore) -> None:
        self._store = store
        #: reference -> (case, version loaded, hash of the last stored event)
        self.seen: dict[str, tuple[Case, int, str]] = {}
        self.keys: dict[str, str] = {}

    def get(self, reference: str) -> Case:
        if reference in self.seen:
            return self.seen[reference][0]
        e = self._store.tables.events
        with self._store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                sa.select(e).where(e.c.complaint_ref == reference).order_by(e.c.seq))]
        if not rows:
            raise NotFound(f"no complaint with reference {reference!r}",
                           f"找不到编号为 {reference!r} 的投诉")
        case = rebuild([self._store.event_from_row(r) for r in rows])
        self.seen[reference] = (case, case.version, rows[-1]["hash"])
        return case

    def add(self, case: Case, idempotency_key: str | None = None) -> None:
        self.seen[case.reference] = (case, 0, GENESIS)
        if idempotency_key is not None:
            self.keys[idempotency_key] = case.reference

    def find_by_idempotency_key(self, key: str) -> str | None:
        i = self._store.tables.idempotency
        with self._store.read() as conn:
            ref = conn.execute(sa.select(i.c.reference).where(i.c.key == key)).scalar()
        return None if ref is None else str(ref)

    def find_by_idempotency_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """key -> reference, for the keys earlier intakes used (bulk imports)."""
        i = self._store.tables.idempotency
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(keys))
        with self._store.read() as conn:
            for n in range(0, len(wanted), 500):
                for key, ref in conn.execute(sa.select(i.c.key, i.c.reference).where(
                        i.c.key.in_(wanted[n:n + 500]))):
                    found[str(key)] = str(ref)
        return found

    def iter_cases(self, *, open_only: bool = False) -> Iterator[Case]:
        t = self._store.tables
        query = (sa.select(t.events).join(t.cases, t.cases.c.reference == t.events.c.complaint_ref)
                 .order_by(t.cases.c.id, t.events.c.seq))
        if open_only:
            query = query.where(t.cases.c.state.in_([s.value for s in OPEN_STATES]))
        with self._store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for _ref, group in itertools.groupby(rows, key=lambda r: r["complaint_ref"]):
            case = rebuild([self._store.event_from_row(r) for r in group])
            if not open_only or case.is_open:
                yield case

    def _listing(self, query: ListingQuery, *columns: Any) -> sa.Select[Any]:
        c = self._store.tables.cases
        q = sa.select(*columns)
        if query.states:
            q = q.where(c.c.state.in_(list(query.states)))
        if query.channel:
            q = q.where(c.c.channel == query.channel)
        if query.kind:
            q = q.where(c.c.kind == query.kind)
        if query.category:
            q = q.where(c.c.categories.like(f"%,{query.category},%"))
        if query.department_keys is not None:
            q = q.where(c.c.department_key.in_(sorted(query.department_keys)))
        if query.received_from_s is not None:
            q = q.where(c.c.received_s >= query.received_from_s)
        if query.received_before_s is not None:
            q = q.where(c.c.received_s < query.received_before_s)
        if query.after:
            with self._store.read() as conn:
                anchor = conn.execute(sa.select(c.c.received_s, c.c.id).where(
                    c.c.reference == query.after)).first()
            if anchor is None:
                raise NotFound(f"--after {query.after!r}: no complaint with that reference",
                               f"--after {query.after!r}：找不到该编号的投诉")
            q = q.where(sa.tuple_(c.c.received_s, c.c.id) >
                        sa.tuple_(sa.literal(anchor.received_s), sa.literal(anchor.id)))
        q = q.order_by(c.c.received_s, c.c.id)
        if query.limit is not None:
            q = q.limit(query.limit)
        return q

    def list_summaries(self, query: ListingQuery) -> list[dict[str, Any]]:
        c = self._store.tables.cases
        with self._store.read() as conn:
            return [json.loads(r.summary) for r in conn.execute(
                self._listing(query, c.c.summary))]

    def references(self, query: ListingQuery) -> list[str]:
        c = self._store.tables.cases
        with self._store.read() as conn:
            return [str(r.reference) for r in conn.execute(self._listing(query, c.c.reference))]

    def get_many(self, references: Sequence[str]) -> list[Case]:
        e = self._store.tables.events
        wanted = [r for r in references if r not in self.seen]
        found: dict[str, Case] = {r: self.seen[r][0] for r in references if r in self.seen}
        if wanted:
            with self._store.read() as conn:
                rows = [dict(r._mapping) for r in conn.execute(
                    sa.select(e).where(e.c.complaint_ref.in_(wanted))
                    .order_by(e.c.complaint_ref, e.c.seq))]
            for ref, group in itertools.groupby(rows, key=lambda r: r["complaint_ref"]):
                found[ref] = rebuild([self._store.event_from_row(r) for r in group])
        return [found[r] for r in references if r in found]

    def events_by_id(self, event_ids: Sequence[str]) -> dict[str, Event]:
        e = self._store.tables.events
        out: dict[str, Event] = {}
        ids = list(event_ids)
        with self._store.read() as conn:
            for i in range(0, len(ids), 500):
                for row in conn.execute(sa.select(e).where(e.c.event_id.in_(ids[i:i + 500]))):
                    event = self._store.event_from_row(dict(row._mapping))
                    out[event.event_id] = event
        return out

    def summaries(self, references: Sequence[str]) -> dict[str, dict[str, Any]]:
        c = self._store.tables.cases
        refs = list(references)
        out: dict[str, dict[str, Any]] = {}
        with self._store.read() as conn:
            for i in range(0, len(refs), 500):
                for ref, summary in conn.execute(sa.select(c.c.reference, c.c.summary)
                                                 .where(c.c.reference.in_(refs[i:i + 500]))):
                    if summary is not None:
                        out[ref] = json.loads(summary)
        missing = [r for r in refs if r not in out]
        for case in self.get_many(missing):  # a row not yet refreshed (open_store fills them)
            out[case.reference] = summarize(case).model_dump(mode="json")
        return out

    def next_reference(self, prefix: str, day: date) -> str:
        return self.reserve_references(prefix, day, 1)[0]

    def reserve_for_days(self, prefix: str,
                         counts: Mapping[date, int]) -> dict[date, list[str]]:
        return _reserve_days(self, prefix, counts)

    def reserve_references(self, prefix: str, day: date, count: int) -> list[str]:
        c = self._store.tables.counters
        key = (c.c.prefix == prefix) & (c.c.day == f"{day:%Y%m%d}")
        for attempt in range(20):
            try:
                with self._store.write() as conn:
                    last = conn.execute(sa.select(c.c.n).where(key).with_for_update()).scalar()
                    if last is None:
                        last = 0
                        conn.execute(sa.insert(c).values(prefix=prefix, day=f"{day:%Y%m%d}",
                                                         n=count))
                    else:
                        conn.execute(sa.update(c).where(key).values(n=last + count))
                return [f"{prefix}-{day:%Y%m%d}-{n:04d}"
                        for n in range(last + 1, last + count + 1)]
            except (IntegrityError, OperationalError):  # first row raced, or a deadlock
                if attempt == 19:
                    raise
        raise AssertionError("unreachable")


def _reserve_days(repo: _SqlRepository, prefix: str,
                  counts: Mapping[date, int]) -> dict[date, list[str]]:
    """References for several days at once, in one write transaction: one read of the
    counters (locked), one insert of the new days, one batched update (a bulk import of
    complaints spread over a year reserves a few hundred days per batch)."""
    store = repo._store
    c = store.tables.counters
    days = {f"{d:%Y%m%d}": d for d in sorted(counts)}
    for attempt in range(20):
        try:
            out: dict[date, list[str]] = {}
            with store.write() as conn:
                last: dict[str, int] = {}
                keys = list(days)
                for n in range(0, len(keys), 500):
                    for day, value in conn.execute(
                            sa.select(c.c.day, c.c.n).where(
                                c.c.prefix == prefix, c.c.day.in_(keys[n:n + 500]))
                            .order_by(c.c.day).with_for_update()):
                        last[str(day)] = int(value)
                new = [{"prefix": prefix, "day": k, "n": counts[days[k]]} for k in keys
                       if k not in last]
                if new:
                    conn.execute(sa.insert(c), new)
                old = [{"p": prefix, "d": k, "v": last[k] + counts[days[k]]} for k in keys
                       if k in last]
                if old:
                    conn.execute(sa.update(c).where(c.c.prefix == sa.bindparam("p"),
                                                    c.c.day == sa.bindparam("d"))
                                 .values(n=sa.bindparam("v")), old)
                for k, day in days.items():
                    first = last.get(k, 0)
                    out[day] = [f"{prefix}-{day:%Y%m%d}-{i:04d}"
                                for i in range(first + 1, first + counts[day] + 1)]
            return out
        except (IntegrityError, OperationalError):  # a first row raced, or a deadlock
            if attempt == 19:
                raise
    raise AssertionError("unreachable")


def _conflict(ref: str, stored: int | None, loaded: int) -> ConcurrencyConflict:
    now = "deleted" if stored is None else str(stored)
    return ConcurrencyConflict(
        f"complaint {ref} was changed by someone else (now at version {now}, you loaded "
        f"{loaded}); reload it and try again - nothing was saved",
        f"投诉 {ref} 已被他人修改（当前版本 {now}，您载入的是 {loaded}）；"
        "请重新载入后再试，本次未保存任何内容",
    )


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class SqlUnitOfWork:
    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self.cases = _SqlRepository(store)

    def __enter__(self) -> Self:
        self.cases = _SqlRepository(self._store)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()

    def rollback(self) -> None:
        self.cases = _SqlRepository(self._store)

    def commit(self) -> None:
        repo = self.cases
        store = self._store
        try:
            with store.write() as conn:
                new_heads = self._write(conn, repo)
        except _Duplicate as dup:
            existing = repo.find_by_idempotency_key(dup.key)
            raise DuplicateIntake(dup.key, existing or "?") from None
        except OperationalError as exc:  # deadlock / serialisation failure: nothing stored
            raise ConcurrencyConflict(
                f"the database aborted the save because of a concurrent change ({exc.orig}); "
                "try again - nothing was saved",
                "数据库因并发修改中止了保存；请重试，本次未保存任何内容",
            ) from exc
        for ref, head in new_heads.items():
            case = repo.seen[ref][0]
            repo.seen[ref] = (case, case.version, head)
        repo.keys.clear()

    def _write(self, conn: Connection, repo: _SqlRepository) -> dict[str, str]:
        t = self._store.tables
        if repo.keys:
            try:  # a failure aborts the whole transaction, so no savepoint is needed
                conn.execute(sa.insert(t.idempotency), [
                    {"key": key, "reference": ref} for key, ref in repo.keys.items()])
            except IntegrityError:
                raise _Duplicate(self._taken_key(repo)) from None
        pending: list[tuple[Case, list[Event], str]] = []
        created = [ref for ref in sorted(repo.seen) if repo.seen[ref][1] == 0]
        for ref in sorted(repo.seen):
            case, loaded, head = repo.seen[ref]
            new = case.events[loaded:]
            if loaded != 0:  # new cases are inserted below, with their chain head
                where = (t.cases.c.reference == ref) & (t.cases.c.version == loaded)
                if new:
                    res = conn.execute(sa.update(t.cases).where(where)
                                       .values(**self._case_columns(case)))
                    ok = res.rowcount == 1
                else:
                    ok = conn.execute(sa.select(t.cases.c.id).where(where)).first() is not None
                if not ok:
                    stored = conn.execute(sa.select(t.cases.c.version)
                                          .where(t.cases.c.reference == ref)).scalar()
                    raise _conflict(ref, stored, loaded)
            if new:
                pending.append((case, new, head))
        if not pending:
            return {}
        h = t.chain_head
        top = conn.execute(sa.select(h.c.global_seq, h.c.hash).where(h.c.id == 1)
                           .with_for_update()).one()
        gseq, ghash = int(top.global_seq), str(top.hash)
        rows: list[dict[str, Any]] = []
        heads: dict[str, str] = {}
        for case, new, head in pending:
            for event in new:
                row = self._store.row_from_event(event)
                gseq += 1
                row["prev_hash"] = head
                row["hash"] = head = row_hash(row, head)
                row["global_seq"] = gseq
                row["global_hash"] = ghash = global_hash(head, ghash)
                rows.append(row)
            heads[case.reference] = head
        if created:
            try:
                conn.execute(sa.insert(t.cases), [
                    {"reference": ref, **self._case_columns(repo.seen[ref][0]),
                     "head_hash": heads.get(ref, GENESIS)} for ref in created])
            except IntegrityError:
                raise _conflict(created[0], None, 0) from None
        conn.execute(sa.insert(t.events), rows)
        conn.execute(sa.insert(t.outbox), [
            {"global_seq": r["global_seq"], "event_id": r["event_id"],
             "complaint_ref": r["complaint_ref"]} for r in rows])
        if self._store.delivery_route is not None:
            self._store.deliveries.enqueue_events(conn, rows, self._store.delivery_route)
        existing = [ref for ref in heads if repo.seen[ref][1] != 0]
        if existing:
            conn.execute(sa.update(t.cases).where(t.cases.c.reference == sa.bindparam("ref"))
                         .values(head_hash=sa.bindparam("head")),
                         [{"ref": ref, "head": heads[ref]} for ref in existing])
        conn.execute(sa.update(h).where(h.c.id == 1).values(global_seq=gseq, hash=ghash))
        self._project_exam_links(conn, [case for case, new, _ in pending
                                        if any(e.type in LINKING_EVENTS for e in new)])
        return heads

    def _project_exam_links(self, conn: Connection, cases: list[Case]) -> None:
        """Keep the complaint->exam projection of the imaging analytics in step with the
        cases, in the same transaction (a registration or ``link_exam`` changes it). A link
        by study UID alone is resolved through the exam table; if that exam has not arrived
        yet, ``app.imaging.refresh_links()`` adds it later."""
        links, exams = self._store.tables.complaint_exams, self._store.tables.exams
        if not cases or links is None or exams is None:
            return
        rows = []
        for case in cases:
            c = case.complaint
            received = int(c.received_at.timestamp())
            for link in c.exam_links:
                acc = link.accession_number
                if acc is None and link.study_instance_uid:
                    acc = conn.execute(sa.select(exams.c.accession_number).where(
                        exams.c.study_uid == link.study_instance_uid).limit(1)).scalar()
                if acc is not None:
                    rows.append({"complaint_ref": c.reference, "accession_number": acc,
                                 "received_s": received})
        conn.execute(sa.delete(links).where(links.c.complaint_ref.in_(
            [case.reference for case in cases])))
        unique = {(r["complaint_ref"], r["accession_number"]): r for r in rows}
        if unique:
            conn.execute(sa.insert(links), list(unique.values()))

    def _taken_key(self, repo: _SqlRepository) -> str:
        """Which of this commit's idempotency keys another intake committed first."""
        for key in repo.keys:
            if repo.find_by_idempotency_key(key) is not None:
                return key
        return next(iter(repo.keys))

    @staticmethod
    def case_columns(case: Case) -> dict[str, Any]:
        """The ``cases`` listing row of a case (``audit verify`` recomputes it)."""
        return SqlUnitOfWork._case_columns(case)

    @staticmethod
    def _case_columns(case: Case) -> dict[str, Any]:
        c = case.complaint
        return {
            "version": case.version, "state": case.state.value,
            "department": c.department, "owner": case.owner,
            "received_at": c.received_at.isoformat(),
            "updated_at": case.events[-1].at.isoformat() if case.events else "",
            "kind": c.kind.value, "channel": c.channel.value,
            "categories": "," + ",".join(x.value for x in c.categories) + ","
            if c.categories else None,
            "department_key": normalise(c.department)[:200] if c.department else None,
            "received_s": int(c.received_at.timestamp()),
            "summary": json.dumps(summarize(case).model_dump(mode="json"),
                                  ensure_ascii=False, sort_keys=True),
        }

    def record_notification_failure(self, failure: NotificationFailure) -> None:
        f = self._store.tables.failures
        with self._store.write() as conn:
            conn.execute(sa.insert(f).values(
                complaint_ref=failure.complaint_ref, event_id=failure.event_id,
                event_type=failure.event_type, plugin=failure.plugin, error=failure.error,
                at=failure.at.isoformat()))

    def pending_notifications(self, *, limit: int = 500) -> list[Event]:
        t = self._store.tables
        query = (sa.select(t.events).join(t.outbox, t.outbox.c.global_seq == t.events.c.global_seq)
                 .order_by(t.outbox.c.global_seq).limit(limit))
        with self._store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        return [self._store.event_from_row(r) for r in rows]

    def mark_notified(self, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        o = self._store.tables.outbox
        with self._store.write() as conn:
            conn.execute(sa.delete(o).where(o.c.event_id.in_(list(event_ids))))

    def notification_failures(self, reference: str | None = None) -> list[NotificationFailure]:
        f = self._store.tables.failures
        query = sa.select(f).order_by(f.c.id)
        if reference is not None:
            query = query.where(f.c.complaint_ref == reference)
        with self._store.read() as conn:
            rows = conn.execute(query).all()
        return [NotificationFailure(complaint_ref=r.complaint_ref, event_id=r.event_id,
                                    event_type=r.event_type, plugin=r.plugin, error=r.error,
                                    at=datetime.fromisoformat(r.at)) for r in rows]

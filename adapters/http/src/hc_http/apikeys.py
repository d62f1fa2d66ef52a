"""API keys for systems (a HIS, an integration platform, a hotline gateway).

A key looks like ``hck_<key id>_<secret>``: the key id (public, 16 hex digits) finds the
row, the secret (256 random bits) proves possession. Only the secret's SHA-256 is stored, so
a copy of the database lets nobody call the API. A key carries scopes (what it may do), and
the roles and department of the :class:`Viewer` it acts as, so every rule that applies to a
person (department scoping, the identity decision) applies to it too. Revoked keys keep their
row, so the audit trail can still name them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from hospital_complaints.plugin_api import FieldProblem, InvalidInput, NotFound, SqlStore

from .settings import SCOPES
from .tables import tables_for

PREFIX = "hck_"
_KEY = re.compile(r"hck_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


@dataclass(frozen=True)
class ApiKey:
    """One issued key (never its secret)."""

    key_id: str
    name: str
    scopes: frozenset[str]
    roles: frozenset[str]
    department: str | None
    created_at: str
    created_by: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _split(text: str) -> frozenset[str]:
    return frozenset(p for p in text.split(" ") if p)


def check_scopes(scopes: list[str] | tuple[str, ...]) -> frozenset[str]:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise InvalidInput("API key", [FieldProblem(
            "--scope", ", ".join(bad) or "(none)", f"one or more of: {', '.join(SCOPES)}")],
            [f"  - --scope：取值无效；可用：{', '.join(SCOPES)}"])
    return frozenset(scopes)


class ApiKeys:
    """Issue, list, revoke and check API keys in the store's ``http_api_keys`` table."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.table = tables_for(store).api_keys

    def issue(self, name: str, *, scopes: list[str] | tuple[str, ...],
              roles: list[str] | tuple[str, ...] = (), department: str | None = None,
              created_by: str, now: datetime) -> tuple[str, ApiKey]:
        """A new key: returns the full key (shown once, never stored) and its record."""
        if not _NAME.fullmatch(name):
            raise InvalidInput("API key", [FieldProblem(
                "name", name[:40], "1-100 letters, digits, '.', '_', ':' or '-', starting "
                "with a letter or digit")], ["  - name：名称须为 1-100 个字母、数字或 . _ : -"])
        wanted = check_scopes(scopes)
        for role in roles:
            if not role or " " in role or len(role) > 100:
                raise InvalidInput("API key", [FieldProblem(
                    "--role", role[:40], "a role name without spaces, at most 100 characters")],
                    ["  - --role：角色名不能含空格，且不超过 100 个字符"])
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        record = ApiKey(key_id=key_id, name=name, scopes=wanted, roles=frozenset(roles),
                        department=department or None, created_at=now.isoformat(),
                        created_by=created_by, revoked_at=None)
        with self.store.write() as conn:
            taken = conn.execute(sa.select(self.table.c.key_id)
                                 .where(self.table.c.name == name)).first()
            if taken is not None:
                raise InvalidInput("API key", [FieldProblem(
                    "name", name, "a name no other key has (revoked keys keep theirs)")],
                    [f"  - name：名称 {name} 已被使用"])
            conn.execute(sa.insert(self.table).values(
                key_id=key_id, secret_sha256=_digest(secret), name=name,
                scopes=" ".join(sorted(wanted)), roles=" ".join(sorted(record.roles)),
                department=record.department, created_at=record.created_at,
                created_by=created_by, revoked_at=None))
        return f"{PREFIX}{key_id}_{secret}", record

    def all(self) -> list[ApiKey]:
        with self.store.read() as conn:
            rows = conn.execute(sa.select(self.table).order_by(self.table.c.created_at)).all()
        return [self._record(r._mapping) for r in rows]

    def revoke(self, name_or_id: str, *, now: datetime) -> ApiKey:
        t = self.table
        with self.store.write() as conn:
            row = conn.execute(sa.select(t).where(
                sa.or_(t.c.name == name_or_id, t.c.key_id == name_or_id))).first()
            if row is None:
                raise NotFound(f"no API key named {name_or_id!r}",
                               f"没有名为 {name_or_id!r} 的 API 密钥")
            if row.revoked_at is None:
                conn.execute(sa.update(t).where(t.c.key_id == row.key_id)
                             .values(revoked_at=now.isoformat()))
        revoked = self._record(row._mapping)
        return ApiKey(**{**vars(revoked), "revoked_at": revoked.revoked_at or now.isoformat()})

    def verify(self, presented: str) -> ApiKey | None:
        """The active key ``presented`` is, or ``None`` (unknown, wrong secret, revoked)."""
        match = _KEY.fullmatch(presented.strip())
        if match is None:
            return None
        key_id, secret = match.groups()
        with self.store.read() as conn:
            row = conn.execute(sa.select(self.table)
                               .where(self.table.c.key_id == key_id)).first()
        if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
            return None
        record = self._record(row._mapping)
        return record if record.active else None

    @staticmethod
    def _record(row: sa.RowMapping) -> ApiKey:
        return ApiKey(key_id=row["key_id"], name=row["name"], scopes=_split(row["scopes"]),
                      roles=_split(row["roles"]), department=row["department"],
                      created_at=row["created_at"], created_by=row["created_by"],
                      revoked_at=row["revoked_at"])

"""Patients' status links: "where is my complaint" without signing in.

A token is 192 random bits (``secrets.token_urlsafe(24)``, 32 characters), given once at
public intake. Only its SHA-256 is stored, with the case reference and an expiry, so the
database alone opens no status page. A reference number plus a phone number is never
accepted instead: both are easy to guess or to learn.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from hospital_complaints.plugin_api import SqlStore

from .tables import tables_for

TOKEN_BYTES = 24
_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(token: str) -> bool:
    return _SHAPE.fullmatch(token) is not None


class StatusTokens:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.table = tables_for(store).status_tokens

    def issue(self, reference: str, *, now: datetime, days: int) -> tuple[str, datetime]:
        """A new token for ``reference``; returns it and when it expires."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires = now + timedelta(days=days)
        with self.store.write() as conn:
            conn.execute(sa.insert(self.table).values(
                token_sha256=_digest(token), reference=reference,
                created_at=int(now.timestamp()), expires_at=int(expires.timestamp())))
        return token, expires

    def resolve(self, token: str, *, now: datetime) -> tuple[str, datetime] | None:
        """The reference and expiry of a valid, unexpired token; ``None`` otherwise."""
        if not well_formed(token):
            return None
        t = self.table
        with self.store.read() as conn:
            row = conn.execute(sa.select(t.c.reference, t.c.expires_at)
                               .where(t.c.token_sha256 == _digest(token))).first()
        if row is None or row.expires_at <= int(now.timestamp()):
            return None
        return row.reference, datetime.fromtimestamp(row.expires_at, tz=now.tzinfo)

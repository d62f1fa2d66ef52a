"""Tamper evidence and keys (``app.audit``): what ``audit verify`` and ``keys status/rotate``
do, for any entry point.

``verify`` checks everything that is tamper-evident: the event log's two hash chains, the
cases listing against the events, the seals of exam/fault/roster rows, and each plugin's own
checks (the HL7 adapter's raw messages). ``rotate`` re-encrypts every kind of personal data
under the current key and seals the evidence rows with it. docs/security.md says what each
check catches and what it does not.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..storage.keys import ENV_VAR, KeyRing

if TYPE_CHECKING:
    from ..app import App


@dataclass
class AuditReport:
    problems: list[str] = field(default_factory=list)
    events: int = 0
    chain_head: str = ""
    evidence_rows: int = 0
    unsealed: dict[str, int] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)  # plugin checks run (descriptions)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditService:
    def __init__(self, app: App) -> None:
        self.app = app

    def verify(self) -> AuditReport:
        from ..storage.sql import verify_chain
        from ..storage.sql.seals import verify_seals

        store = self.app.store
        report = AuditReport(problems=[str(p) for p in verify_chain(store)])
        seals = verify_seals(store)
        report.problems += seals.problems
        report.evidence_rows, report.unsealed = seals.checked, seals.unsealed
        for check in self.app.plugins.integrity_checks(self.app).values():
            report.problems += [f"{check.id}: {line}" for line in check.check(store)]
            report.checks.append(check.description)
        report.events, report.chain_head = store.chain_head()
        return report

    # -- keys --------------------------------------------------------------------------------

    def key_usage(self) -> dict[str, dict[str, int]]:
        """Key id -> rows, per kind of encrypted (or sealed) data. No key is ever shown."""
        import sqlalchemy as sa

        from ..storage.blobs import FileBlobStore
        from ..storage.sql.seals import evidence_tables

        store = self.app.store
        e = store.tables.events
        usage: dict[str, dict[str, int]] = {}
        with store.read() as conn:
            usage["events"] = {str(k): int(n) for k, n in conn.execute(
                sa.select(e.c.key_id, sa.func.count()).where(e.c.key_id.is_not(None))
                .group_by(e.c.key_id))}
            seals: dict[str, int] = {}
            for table in evidence_tables(store):
                key = sa.func.substr(table.c.seal, 1, 8)
                for k, n in conn.execute(sa.select(key, sa.func.count()).group_by(key)):
                    name = "(unsealed)" if k is None else str(k)
                    seals[name] = seals.get(name, 0) + int(n)
            usage["evidence row seals"] = seals
        usage["notification messages"] = store.deliveries.key_ids()
        usage["survey answers"] = store.surveys.key_ids()
        blobs = self.app.blobs
        counts: dict[str, int] = {}
        if isinstance(blobs, FileBlobStore):
            for blob in blobs.stored():
                k = blobs.key_id_of(blob) or "(plaintext, release 0.1)"
                counts[k] = counts.get(k, 0) + 1
        usage["attachments"] = counts
        for data in self.app.plugins.encrypted_data(self.app).values():
            usage[data.description] = data.key_ids(store)
        return usage

    def add_new_key(self) -> str:
        """Put a freshly generated key first in the key file (old keys stay after it);
        returns the new key's id. The app must be rebuilt to use it."""
        from ..storage.sql.config import key_file_path, read_key_file, replace_key_file

        path = key_file_path(self.app.settings.database)
        if path is None:
            raise ConfigError(
                f"the keys come from {ENV_VAR}, which cannot be changed from here: run `keys "
                f"generate`, put the new key first in {ENV_VAR} (old keys after it), then run "
                "`keys rotate` without --new-key",
                f"密钥来自环境变量 {ENV_VAR}，无法在此修改：请先运行 keys generate，把新密钥放在 "
                f"{ENV_VAR} 的最前面（旧密钥在后），再运行 keys rotate")
        self.app.store  # noqa: B018 - the database opens with the old ring first
        old = read_key_file(path)
        fresh = KeyRing.generate_key()
        replace_key_file(path, [fresh, *(base64.urlsafe_b64encode(k).decode("ascii")
                                         for k in old.keys)])
        return KeyRing.parse(fresh).current_id

    def rotate(self) -> dict[str, int]:
        """Re-encrypt everything under the current key; returns how many per kind."""
        from ..storage.blobs import FileBlobStore
        from ..storage.sql.seals import reseal

        store = self.app.store
        parts = {"events": store.rotate(), "evidence row seals": reseal(store),
                 "notification messages": store.deliveries.rotate(),
                 "survey answers": store.surveys.rotate()}
        blobs = self.app.blobs
        parts["attachments"] = sum(blobs.rewrite(k) for k in list(blobs.stored())) \
            if isinstance(blobs, FileBlobStore) else 0
        for data in self.app.plugins.encrypted_data(self.app).values():
            parts[data.description] = data.rotate(store)
        return parts

"""Survey invitations and responses in SQL (migration 0008).

An invitation is unique per (questionnaire, exam or case): a patient is never invited twice
for one exam. Its link's token is kept only as a SHA-256 hash. A response's answers are
encrypted with the key ring (free text may hold what a patient wrote about themselves); the
1-5 score, the modality and the department stay readable for the reports.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...surveys.records import SurveyInvitation, SurveyResponse

if TYPE_CHECKING:
    from .uow import SqlStore


class SqlSurveyStore:
    def __init__(self, store: SqlStore) -> None:
        self._store = store
        inv, resp = store.tables.survey_invitations, store.tables.survey_responses
        assert inv is not None and resp is not None
        self.inv, self.resp = inv, resp

    @staticmethod
    def _aad(invitation_id: str) -> bytes:
        return f"survey-response|{invitation_id}".encode()

    def add_invitation(self, invitation: SurveyInvitation) -> bool:
        """Store it; ``False`` if this questionnaire already invited for this subject."""
        try:
            with self._store.write() as conn:
                conn.execute(sa.insert(self.inv).values(**invitation.row()))
        except IntegrityError:
            return False
        return True

    def invitation(self, *, token_hash: str | None = None, invitation_id: str | None = None,
                   subject: tuple[str, str, str] | None = None) -> SurveyInvitation | None:
        t = self.inv
        query = sa.select(t)
        if token_hash is not None:
            query = query.where(t.c.token_hash == token_hash)
        elif invitation_id is not None:
            query = query.where(t.c.id == invitation_id)
        elif subject is not None:
            q, kind, ref = subject
            query = query.where(t.c.questionnaire == q, t.c.subject_kind == kind,
                                t.c.subject == ref)
        else:
            return None
        with self._store.read() as conn:
            row = conn.execute(query).first()
        return SurveyInvitation.from_row(dict(row._mapping)) if row is not None else None

    def answer(self, invitation: SurveyInvitation, response: SurveyResponse) -> bool:
        """Mark the invitation answered and store the response, in one transaction;
        ``False`` (nothing stored) if it was answered already."""
        plain = json.dumps(response.answers, ensure_ascii=False, sort_keys=True)
        key_id, blob = self._store.key_ring.encrypt(plain.encode("utf-8"),
                                                    self._aad(invitation.id))
        with self._store.write() as conn:
            done = conn.execute(sa.update(self.inv).where(
                self.inv.c.id == invitation.id, self.inv.c.answered_s.is_(None))
                .values(answered_s=response.answered_s)).rowcount
            if not done:
                return False
            conn.execute(sa.insert(self.resp).values(
                **response.row(), answers=blob, key_id=key_id))
        return True

    def responses(self, from_s: float | None = None, to_s: float | None = None,
                  questionnaire: str | None = None) -> list[SurveyResponse]:
        r = self.resp
        query = sa.select(r).order_by(r.c.answered_s, r.c.id)
        if from_s is not None:
            query = query.where(r.c.answered_s >= from_s)
        if to_s is not None:
            query = query.where(r.c.answered_s < to_s)
        if questionnaire is not None:
            query = query.where(r.c.questionnaire == questionnaire)
        with self._store.read() as conn:
            rows = [dict(x._mapping) for x in conn.execute(query)]
        out = []
        for row in rows:
            plain = self._store.key_ring.decrypt(row["key_id"], row["answers"],
                                                 self._aad(row["invitation_id"]),
                                                 f"survey response {row['invitation_id']}")
            row["answers"] = json.loads(plain)
            out.append(SurveyResponse.from_row(row))
        return out

    def invitations(self, from_s: float | None = None, to_s: float | None = None,
                    questionnaire: str | None = None) -> list[SurveyInvitation]:
        t = self.inv
        query = sa.select(t).order_by(t.c.created_s, t.c.id)
        if from_s is not None:
            query = query.where(t.c.created_s >= from_s)
        if to_s is not None:
            query = query.where(t.c.created_s < to_s)
        if questionnaire is not None:
            query = query.where(t.c.questionnaire == questionnaire)
        with self._store.read() as conn:
            return [SurveyInvitation.from_row(dict(x._mapping)) for x in conn.execute(query)]

    def key_ids(self) -> dict[str, int]:
        r = self.resp
        with self._store.read() as conn:
            return {str(k): int(n) for k, n in conn.execute(
                sa.select(r.c.key_id, sa.func.count()).group_by(r.c.key_id))}

    def rotate(self, batch: int = 500) -> int:
        r, ring = self.resp, self._store.key_ring
        changed = 0
        while True:
            with self._store.write() as conn:
                rows: Sequence[Any] = conn.execute(
                    sa.select(r.c.id, r.c.invitation_id, r.c.answers, r.c.key_id)
                    .where(r.c.key_id != ring.current_id).order_by(r.c.id).limit(batch)).all()
                for row in rows:
                    aad = self._aad(row.invitation_id)
                    plain = ring.decrypt(row.key_id, row.answers, aad,
                                         f"survey response {row.invitation_id}")
                    key_id, blob = ring.encrypt(plain, aad)
                    conn.execute(sa.update(r).where(r.c.id == row.id)
                                 .values(answers=blob, key_id=key_id))
            changed += len(rows)
            if len(rows) < batch:
                return changed

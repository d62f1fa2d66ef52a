"""What the survey store keeps: invitations and responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SurveyInvitation:
    """One invitation: a questionnaire for one exam (``subject_kind="exam"``, the accession
    number) or case (``"case"``, the reference). Its link's token is stored only hashed."""

    id: str
    questionnaire: str
    subject_kind: str
    subject: str
    trigger: str
    token_hash: str
    language: str
    created_s: float
    send_after_s: float
    expires_s: float
    modality: str | None = None
    department: str | None = None
    answered_s: float | None = None

    def row(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SurveyInvitation:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class SurveyResponse:
    """The answers to one invitation (``answers``: link id -> code, score or text)."""

    invitation_id: str
    questionnaire: str
    questionnaire_version: str
    subject_kind: str
    subject: str
    language: str
    answered_s: float
    answers: dict[str, Any]
    satisfaction: int | None = None
    modality: str | None = None
    department: str | None = None

    def row(self) -> dict[str, Any]:
        """The stored columns except the (encrypted) answers."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "answers"}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SurveyResponse:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

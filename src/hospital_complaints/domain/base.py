"""The strict base model every domain model uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Instant = AwareDatetime  # a naive datetime is rejected: time zones are never guessed


class StrictModel(BaseModel):
    """Unknown fields are rejected, values are re-validated on assignment, and models are
    immutable: a change to a case is always a new event, never an edit in place."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_default=True,
        str_strip_whitespace=True,
        use_enum_values=False,
    )

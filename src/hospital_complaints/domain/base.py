"""The strict base model every domain model uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import VERSION as PYDANTIC_VERSION
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

#: whether models are built on first use (``defer_build``): only where pydantic builds a
#: deferred model under a lock (2.14 on, pydantic#13438); before, threads that first use a
#: model at the same time could see it half built, so every model is built at import there
DEFER_BUILD = tuple(int(n) for n in PYDANTIC_VERSION.split(".")[:2]) >= (2, 14)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Instant = AwareDatetime  # a naive datetime is rejected: time zones are never guessed


class StrictModel(BaseModel):
    """Unknown fields are rejected, values are re-validated on assignment, and models are
    immutable: a change to a case is always a new event, never an edit in place.

    A model's validator is built when it is first used (:data:`DEFER_BUILD`), not when its
    module is imported: a command builds the few models it uses, not every one of the
    domain (the command line's start-up time)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_default=True,
        str_strip_whitespace=True,
        use_enum_values=False,
        defer_build=DEFER_BUILD,
    )

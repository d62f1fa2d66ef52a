"""HL7 v2 adapter: mask the message values that older error texts quote.

Versions before this one wrote error texts that could quote what the message held, in Python
repr quotes: ``MSH-18: unknown character set 'ZHANG^SANFENG'``, an ``MSH-2`` error echoing a
large part of the message, ``ORC-9: '2026-11-24' is not an HL7 date/time``. This revision
replaces every quoted part of ``<prefix>hl7_messages.error`` by a description that keeps no
character of it (its length and kinds of characters, ``hc_hl7v2.errors.scrub``) and cuts the
text to 200 characters, as the adapter now writes them. The raw message itself is encrypted
and untouched. There is no way back (downgrade leaves the texts masked).

Revision ID: hl7v2_0002
Revises: hl7v2_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from hc_hl7v2.errors import scrub

revision = "hl7v2_0002"
down_revision: str | None = "hl7v2_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

_PAGE = 1000


def upgrade() -> None:
    attrs = context.config.attributes
    prefix, schema = attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")
    t = sa.table(f"{prefix}hl7_messages", sa.column("id", sa.Integer),
                 sa.column("error", sa.Text), schema=schema)
    bind = op.get_bind()
    last = 0
    while True:  # a page at a time, by id: only rejected rows have an error
        rows = bind.execute(sa.select(t.c.id, t.c.error)
                            .where(t.c.id > last, t.c.error.is_not(None))
                            .order_by(t.c.id).limit(_PAGE)).all()
        if not rows:
            return
        changed = [{"row_id": r.id, "text": text} for r in rows
                   if (text := scrub(r.error)) != r.error]
        if changed:
            bind.execute(sa.update(t).where(t.c.id == sa.bindparam("row_id"))
                         .values(error=sa.bindparam("text")), changed)
        last = rows[-1].id


def downgrade() -> None:
    """The masked values are gone: nothing to undo."""

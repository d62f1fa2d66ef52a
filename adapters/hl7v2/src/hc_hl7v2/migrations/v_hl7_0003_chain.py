"""HL7 v2 adapter: a hash chain over the received messages (tamper evidence).

Adds to ``<prefix>hl7_messages`` the columns ``raw_length`` (the message's length as
received: ``raw`` may hold only the first bytes of a frame over the listener's limit; NULL
for rows stored before), ``prev_hash`` and ``hash``, and creates ``<prefix>hl7_chain_head``
(one row, id 1: the last chained row's id and hash). Then it chains the rows already stored,
by id: the hash covers the stored columns, ciphertext included, so no key is needed
(``hc_hl7v2.chain``, whose ``row_hash`` the adapter computes the same way for every new
row). The error texts were masked by ``hl7v2_0002`` before, so the chain covers those.

Revision ID: hl7v2_0003
Revises: hl7v2_0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

from hc_hl7v2.chain import GENESIS, HASHED, row_hash

revision = "hl7v2_0003"
down_revision: str | None = "hl7v2_0002"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

_PAGE = 1000
_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4",
                          "mysql_engine": "InnoDB", "mariadb_engine": "InnoDB"}


def upgrade() -> None:
    attrs = context.config.attributes
    prefix, schema = attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")
    name = f"{prefix}hl7_messages"
    op.add_column(name, sa.Column("raw_length", sa.BigInteger, nullable=True), schema=schema)
    op.add_column(name, sa.Column("prev_hash", sa.String(64), nullable=True), schema=schema)
    op.add_column(name, sa.Column("hash", sa.String(64), nullable=True), schema=schema)
    head = op.create_table(
        f"{prefix}hl7_chain_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        schema=schema, **_MYSQL,
    )
    columns: list[sa.ColumnClause[Any]] = [sa.column(c) for c in HASHED]
    t = sa.table(name, *columns, sa.column("prev_hash"), sa.column("hash"), schema=schema)
    bind = op.get_bind()
    prev_hash, last = GENESIS, 0
    while True:  # the rows already stored, chained by id, a page at a time
        rows = bind.execute(sa.select(*columns).where(t.c.id > last).order_by(t.c.id)
                            .limit(_PAGE)).mappings().all()
        if not rows:
            break
        updates = []
        for row in rows:
            digest = row_hash(row, prev_hash)
            updates.append({"row_id": row["id"], "p": prev_hash, "h": digest})
            prev_hash = digest
        bind.execute(sa.update(t).where(t.c.id == sa.bindparam("row_id"))
                     .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h")), updates)
        last = int(rows[-1]["id"])
    op.bulk_insert(head, [{"id": 1, "last_id": last, "hash": prev_hash}])


def downgrade() -> None:
    attrs = context.config.attributes
    prefix, schema = attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")
    op.drop_table(f"{prefix}hl7_chain_head", schema=schema)
    with op.batch_alter_table(f"{prefix}hl7_messages", schema=schema) as batch:
        for column in ("hash", "prev_hash", "raw_length"):
            batch.drop_column(column)

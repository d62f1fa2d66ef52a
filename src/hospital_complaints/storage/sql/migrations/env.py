"""Alembic environment: run by ``SqlStore.upgrade()`` with an open connection.

``config.attributes`` carries ``connection``, ``hc_schema`` and ``hc_prefix``; there is no
alembic.ini. The version table is ``<prefix>alembic_version`` in the chosen schema, so several
stores can share one database. The same environment runs plugins' branches (hook
``hc_register_migrations``): their revision files read ``hc_prefix``/``hc_schema`` from
``context.config.attributes`` too, and their heads are rows of the same version table.
"""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes["connection"]
schema = config.attributes.get("hc_schema")
prefix = config.attributes.get("hc_prefix", "hc_")

context.configure(
    connection=connection,
    target_metadata=None,
    version_table=f"{prefix}alembic_version",
    version_table_schema=schema,
)
with context.begin_transaction():
    context.run_migrations()

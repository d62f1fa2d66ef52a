"""The adapter's Alembic branch ``hl7v2`` (its own tables), run by the core's
``SqlStore.upgrade()`` when registered through ``hc_register_migrations``."""

from pathlib import Path

#: the directory of the branch's revision files, for ``SqlStore.upgrade(version_locations=)``
DIRECTORY = Path(__file__).resolve().parent

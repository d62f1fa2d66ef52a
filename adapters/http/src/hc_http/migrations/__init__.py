"""The adapter's Alembic branch ``http`` (its own tables), run by the core's
``SqlStore.upgrade()`` when registered through ``hc_register_migrations``.

- ``http_0001``: API keys (``<prefix>http_api_keys``, secrets stored only as SHA-256) and
  patients' status links (``<prefix>http_status_tokens``, tokens stored only as SHA-256,
  with their expiry).
"""

from pathlib import Path

#: the directory of the branch's revision files, for ``SqlStore.upgrade(version_locations=)``
DIRECTORY = Path(__file__).resolve().parent
#: the branch's newest revision (what the Alembic version table records once upgraded)
HEAD = "http_0001"

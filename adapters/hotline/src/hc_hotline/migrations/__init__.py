"""The connector's Alembic branch ``hotline`` (its own tables), run by the core's
``SqlStore.upgrade()`` when registered through ``hc_register_migrations``.

- ``hotline_0001``: ``<prefix>hotline_tickets`` (ticket id -> case, and the time limit the
  order carried), ``<prefix>hotline_results`` (platform results applied, once each) and
  ``<prefix>hotline_rejects`` (records that could not be used, kept encrypted).
"""

from pathlib import Path

#: the directory of the branch's revision files, for ``SqlStore.upgrade(version_locations=)``
DIRECTORY = Path(__file__).resolve().parent
#: the branch's newest revision
HEAD = "hotline_0001"

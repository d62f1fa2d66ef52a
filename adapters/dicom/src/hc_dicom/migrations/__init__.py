"""The adapter's Alembic branch ``dicom`` (its own tables), run by the core's
``SqlStore.upgrade()`` when registered through ``hc_register_migrations``.

- ``dicom_0001``: raw MPPS messages (hash-chained), MPPS state, pending MPPS, milestone
  provenance, sync watermarks, disclosures of DICOM files (hash-chained), the chain heads.
"""

from pathlib import Path

#: the directory of the branch's revision files, for ``SqlStore.upgrade(version_locations=)``
DIRECTORY = Path(__file__).resolve().parent
#: the branch's newest revision
HEAD = "dicom_0001"

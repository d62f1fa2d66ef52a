"""The adapter's Alembic branch ``hl7v2`` (its own tables), run by the core's
``SqlStore.upgrade()`` when registered through ``hc_register_migrations``.

- ``hl7v2_0001``: the table of received messages (``<prefix>hl7_messages``);
- ``hl7v2_0002``: masks the message values older error texts quote;
- ``hl7v2_0003``: the hash chain (``prev_hash``, ``hash``, ``<prefix>hl7_chain_head``) and
  ``raw_length``;
- ``hl7v2_0004``: ``<prefix>hl7_replays``, what ``hl7 replay`` applied per stored message.
"""

from pathlib import Path

#: the directory of the branch's revision files, for ``SqlStore.upgrade(version_locations=)``
DIRECTORY = Path(__file__).resolve().parent
#: the branch's newest revision (what the Alembic version table records once upgraded)
HEAD = "hl7v2_0004"

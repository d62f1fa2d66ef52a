"""The tamper-evident event log.

Each event row carries two hashes:

* ``hash`` = sha256 over a canonical JSON of the row (reference, seq, event id, type, actor,
  time, reason, stored payload) and ``prev_hash``, the previous event of the same complaint
  (64 zeros for seq 1);
* ``global_hash`` = sha256 over ``hash`` and the ``global_hash`` of the row with the previous
  ``global_seq``. The chain head (last global seq and hash) is kept in ``<prefix>chain_head``.

The encrypted personal column is outside the hashes so that key rotation does not rewrite the
chain; it is authenticated by AES-GCM bound to the row, and :func:`verify_chain` decrypts it.
Someone who can rewrite every row *and* recompute every hash can forge a consistent log: publish
``chain_head()`` somewhere they cannot write to detect that too. :mod:`.verify` checks it all.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def row_hash(row: dict[str, Any], prev_hash: str) -> str:
    content = {
        "complaint_ref": row["complaint_ref"], "seq": row["seq"], "event_id": row["event_id"],
        "type": row["type"], "actor": row["actor"], "at": row["at"], "reason": row["reason"],
        "payload": row["payload"], "prev_hash": prev_hash,
    }
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def global_hash(hash_: str, prev_global: str) -> str:
    return hashlib.sha256(f"{prev_global}:{hash_}".encode("ascii")).hexdigest()

"""Standard Webhooks signatures (https://www.standardwebhooks.com/): the receiver verifies
``webhook-signature`` over ``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256 and a
shared secret ``whsec_<base64>``.

During a secret rotation the sender signs with every configured secret, and the header lists
one ``v1,<signature>`` per secret, separated by spaces: a receiver that knows either secret
accepts the message, so sender and receiver can switch at different moments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _random

PREFIX = "whsec_"
MIN_BYTES, MAX_BYTES = 24, 64


class BadSecret(ValueError):
    """Not a ``whsec_`` secret of 24 to 64 bytes (the message never holds the value)."""


def decode_secret(secret: str) -> bytes:
    """The key bytes of ``whsec_<base64>``."""
    if not secret.startswith(PREFIX):
        raise BadSecret(f"a secret must start with {PREFIX}")
    try:
        key = base64.b64decode(secret[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise BadSecret(f"the text after {PREFIX} must be base64") from None
    if not MIN_BYTES <= len(key) <= MAX_BYTES:
        raise BadSecret(f"a secret must hold {MIN_BYTES} to {MAX_BYTES} bytes, "
                        f"this one holds {len(key)}")
    return key


def new_secret(n_bytes: int = 32) -> str:
    """A fresh random secret to give the receiver (``hospital-complaints notify secret``)."""
    return PREFIX + base64.b64encode(_random.token_bytes(n_bytes)).decode("ascii")


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def sign(keys: list[bytes], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (every key signs)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(k, msg_id, timestamp, body) for k in keys),
    }

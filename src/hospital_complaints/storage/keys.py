"""Encryption keys: AES-256-GCM under a key ring, with rotation.

``HC_ENCRYPTION_KEYS`` holds comma-separated keys, each 32 random bytes in URL-safe base64
(``KeyRing.generate_key()`` or ``hospital-complaints keys generate`` makes one). The first key
encrypts new data; every key decrypts. A key is known by its id, the first 8 hex digits of its
SHA-256, stored next to the data, so a missing key is named instead of producing garbage.

The same ring encrypts personal data in event rows, attachments (blobs) and plugins' tables
(raw HL7 messages), and keys the seals of exam, fault and roster rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ConfigError

ENV_VAR = "HC_ENCRYPTION_KEYS"


class EncryptionKeyError(ConfigError):
    """Personal data cannot be decrypted with the configured key ring (wrong or missing key)."""


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


@dataclass(frozen=True)
class KeyRing:
    """Encryption keys, current first. Old keys only decrypt; ``SqlStore.rotate()`` re-encrypts."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ConfigError(
                f"the encryption key ring is empty; set {ENV_VAR} to one or more keys "
                "(comma-separated, current first; make one with KeyRing.generate_key())",
                f"加密密钥为空；请在 {ENV_VAR} 中配置至少一个密钥（逗号分隔，第一个为当前密钥）",
            )
        for i, key in enumerate(self.keys, 1):
            if len(key) != 32:
                raise ConfigError(
                    f"encryption key #{i} is {len(key)} bytes; each key must be 32 random bytes "
                    "in URL-safe base64 (KeyRing.generate_key())",
                    f"第 {i} 个加密密钥长度为 {len(key)} 字节；"
                    "每个密钥须为 32 字节（URL 安全 base64）",
                )

    @staticmethod
    def generate_key() -> str:
        """A new random key in the form ``HC_ENCRYPTION_KEYS`` expects."""
        return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")

    @classmethod
    def parse(cls, text: str | Sequence[str]) -> KeyRing:
        """Keys from ``"k1,k2"`` or a list of key strings (current first)."""
        items = text.split(",") if isinstance(text, str) else list(text)
        keys: list[bytes] = []
        for i, item in enumerate((s.strip() for s in items if s.strip()), 1):
            try:
                keys.append(base64.urlsafe_b64decode(item + "=" * (-len(item) % 4)))
            except (binascii.Error, ValueError) as exc:
                raise ConfigError(
                    f"encryption key #{i} in {ENV_VAR} is not URL-safe base64",
                    f"{ENV_VAR} 中第 {i} 个密钥不是合法的 URL 安全 base64",
                ) from exc
        return cls(tuple(keys))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KeyRing:
        """The keys of ``HC_ENCRYPTION_KEYS``, as the settings loader reads it."""
        from ..settings import Settings

        keys = Settings.load(environ).database.encryption_keys
        return cls.parse(keys.get_secret_value() if keys else "")

    @property
    def current_id(self) -> str:
        return _key_id(self.keys[0])

    @property
    def ids(self) -> list[str]:
        return [_key_id(k) for k in self.keys]

    def encrypt(self, plaintext: bytes, aad: bytes) -> tuple[str, str]:
        """``(key id, base64 nonce+ciphertext)`` under the current key."""
        nonce = os.urandom(12)
        blob = nonce + AESGCM(self.keys[0]).encrypt(nonce, plaintext, aad)
        return self.current_id, base64.b64encode(blob).decode("ascii")

    def decrypt(self, key_id: str, data: str, aad: bytes, where: str) -> bytes:
        key = self.key(key_id, f"personal data of {where}")
        blob = base64.b64decode(data)
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], aad)
        except InvalidTag as exc:
            raise EncryptionKeyError(
                f"personal data of {where} does not decrypt with key {key_id}: the key is wrong "
                "or the stored data was altered",
                f"{where} 的个人信息无法用密钥 {key_id} 解密：密钥错误或数据被篡改",
            ) from exc

    def key(self, key_id: str, where: str) -> bytes:
        """The key with ``key_id``; :class:`EncryptionKeyError` naming ``where`` if absent."""
        key = next((k for k in self.keys if _key_id(k) == key_id), None)
        if key is None:
            raise EncryptionKeyError(
                f"{where} was encrypted with key id {key_id}, which is not in the key ring "
                f"(configured ids: {', '.join(self.ids)}); add the old key to {ENV_VAR} (or "
                "the key file) after the current one",
                f"{where} 使用密钥 {key_id} 加密，但当前密钥环中没有该密钥"
                f"（已配置：{', '.join(self.ids)}）；请将旧密钥加入 {ENV_VAR} 或密钥文件"
                "（排在当前密钥之后）",
            )
        return key

    def derived(self, key_id: str, purpose: bytes, where: str) -> bytes:
        """A sub-key for ``purpose`` (e.g. row seals), from the key ``key_id``."""
        return hmac.new(self.key(key_id, where), b"hospital-complaints:" + purpose,
                        hashlib.sha256).digest()

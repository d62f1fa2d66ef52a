"""Personal data at rest: AES-256-GCM under a key ring, with rotation.

``HC_ENCRYPTION_KEYS`` holds comma-separated keys, each 32 random bytes in URL-safe base64
(``KeyRing.generate_key()`` makes one). The first key encrypts new data; every key decrypts.
A key is known by its id, the first 8 hex digits of its SHA-256, stored next to the data, so a
missing key is named instead of producing garbage.

Only the fields marked ``Personal(...)`` in the domain models leave the event payload: each is
replaced by a marker ``{"__hc_personal__": i}`` and the values go, as one JSON list, into the
row's encrypted ``personal`` column. The ciphertext is bound to (complaint, seq, event id) as
associated data, so it cannot be moved to another row.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from ...domain.commands import COMMAND_BY_EVENT
from ...domain.personal import Personal
from ...errors import ConfigError
from .errors import EncryptionKeyError, StorageError

ENV_VAR = "HC_ENCRYPTION_KEYS"
MARKER = "__hc_personal__"


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
        env = os.environ if environ is None else environ
        return cls.parse(env.get(ENV_VAR, ""))

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
        key = next((k for k in self.keys if _key_id(k) == key_id), None)
        if key is None:
            raise EncryptionKeyError(
                f"personal data of {where} was encrypted with key id {key_id}, which is not in "
                f"the key ring (configured ids: {', '.join(self.ids)}); add the old key to "
                f"{ENV_VAR} after the current one",
                f"{where} 的个人信息使用密钥 {key_id} 加密，但当前密钥环中没有该密钥"
                f"（已配置：{', '.join(self.ids)}）；请将旧密钥加入 {ENV_VAR}（排在当前密钥之后）",
            )
        blob = base64.b64decode(data)
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], aad)
        except InvalidTag as exc:
            raise EncryptionKeyError(
                f"personal data of {where} does not decrypt with key {key_id}: the key is wrong "
                "or the stored data was altered",
                f"{where} 的个人信息无法用密钥 {key_id} 解密：密钥错误或数据被篡改",
            ) from exc


# -- which payload fields are personal -------------------------------------------------------

Path = list[str | int]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found += _models_in(arg)
    return found


def _collect(model: type[BaseModel], data: dict[str, Any], path: Path,
             out: list[tuple[Path, Any]]) -> None:
    for name, info in model.model_fields.items():
        if name not in data:
            continue
        value = data[name]
        if any(isinstance(m, Personal) for m in info.metadata):
            if value is not None:
                out.append(([*path, name], value))
            continue
        models = _models_in(info.annotation)
        if not models:
            continue
        if isinstance(value, dict):
            _collect(models[0], value, [*path, name], out)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    _collect(models[0], item, [*path, name, i], out)


def split_personal(event_type: str, payload: dict[str, Any]) -> tuple[dict[str, Any],
                                                                         list[Any]]:
    """The payload with personal values replaced by markers, and the values in marker order."""
    command = COMMAND_BY_EVENT.get(event_type)
    found: list[tuple[Path, Any]] = []
    if command is not None:
        _collect(command, payload, [], found)
    if not found:
        return payload, []
    redacted: dict[str, Any] = json.loads(json.dumps(payload))
    values: list[Any] = []
    for i, (path, value) in enumerate(found):
        target: Any = redacted
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = {MARKER: i}
        values.append(value)
    return redacted, values


def merge_personal(payload: Any, values: list[Any], where: str) -> Any:
    """Put decrypted values back where their markers are (a new structure)."""
    if isinstance(payload, dict):
        if set(payload) == {MARKER}:
            index = payload[MARKER]
            if not isinstance(index, int) or not 0 <= index < len(values):
                raise StorageError(
                    f"personal data of {where} is missing or damaged (marker {index!r})",
                    f"{where} 的个人信息缺失或损坏",
                )
            return values[index]
        return {k: merge_personal(v, values, where) for k, v in payload.items()}
    if isinstance(payload, list):
        return [merge_personal(v, values, where) for v in payload]
    return payload


def has_markers(payload: Any) -> bool:
    if isinstance(payload, dict):
        return set(payload) == {MARKER} or any(has_markers(v) for v in payload.values())
    if isinstance(payload, list):
        return any(has_markers(v) for v in payload)
    return False

"""The connector's settings section ``[plugins.hotline]`` (``hc_register_settings``) and the
connectors they configure.

Secrets (the platforms' tokens, passwords, HMAC keys) are ``SecretStr`` given by connector id
in ``HC_HOTLINE_SECRETS``; a bad one is reported naming the variable, never its value.
Installing this distribution changes nothing until ``HC_HOTLINE_MAPPINGS`` names a mapping.
"""

from __future__ import annotations

import json
import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hospital_complaints.plugin_api import ConfigError, PluginSettings
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import App

    from .client import PlatformClient
    from .mapping import Mapping

NAME = "hotline"
ENV = {"mappings": "HC_HOTLINE_MAPPINGS", "secrets": "HC_HOTLINE_SECRETS",
       "poll_s": "HC_HOTLINE_POLL_S", "max_pages": "HC_HOTLINE_MAX_PAGES",
       "ca_bundle": "HC_HOTLINE_CA_BUNDLE"}


class HotlineSettings(BaseModel):
    """``[plugins.hotline]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: mapping files, or folders of them (``*.toml``, ``*.json``); in the variable, separated
    #: by the OS path separator (``:`` on Linux)
    mappings: tuple[Path, ...] = ()
    #: connector id -> its secret (token, password or HMAC key), a JSON object in the variable
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    #: seconds between two pulls of each connector by the worker (0: the worker never pulls)
    poll_s: float = Field(default=300.0, ge=0, le=86400)
    #: at most this many pages per feed and pull (the rest comes with the next pull)
    max_pages: int = Field(default=200, ge=1, le=100000)
    #: a CA bundle for platforms whose certificate a private CA signed
    ca_bundle: Path | None = None

    @field_validator("mappings", mode="before")
    @classmethod
    def _paths(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p for p in v.split(os.pathsep) if p.strip()]
        return v

    @field_validator("secrets", mode="before")
    @classmethod
    def _secrets(cls, v: Any) -> Any:
        if isinstance(v, SecretStr):
            v = v.get_secret_value()
        if isinstance(v, str):
            if not v.strip():
                return {}
            try:
                v = json.loads(v)
            except ValueError:
                raise ConfigError(
                    f"{ENV['secrets']} (or [plugins.hotline] secrets): expected a JSON object "
                    'such as {"qingchuan-12345": "..."} (value hidden)',
                    f"{ENV['secrets']}：须为 JSON 对象，如 {{\"qingchuan-12345\": \"...\"}}"
                    "（不显示取值）") from None
        if not isinstance(v, dict) or not all(isinstance(x, (str, SecretStr))
                                              for x in v.values()):
            raise ConfigError(
                f"{ENV['secrets']} (or [plugins.hotline] secrets): expected an object of "
                "connector id -> text (value hidden)",
                f"{ENV['secrets']}：须为「对接编号 -> 文本」的对象（不显示取值）")
        return v

    @field_validator("ca_bundle", mode="before")
    @classmethod
    def _empty(cls, v: Any) -> Any:
        return None if v == "" else v


DECLARATION = PluginSettings(
    id=NAME, model=HotlineSettings, env=ENV,
    description="hotline platform connectors (热线平台工单对接): docs/hotline.md")


def section(app: Any) -> HotlineSettings:
    found = app.plugin_config(NAME)
    if isinstance(found, HotlineSettings):
        return found
    return HotlineSettings.model_validate(found or {})


@dataclass
class Connector:
    """One configured platform: its mapping, its secret, and (made on first use) its client."""

    mapping: Mapping
    path: Path | None
    secret: str | None
    ca_bundle: Path | None
    _client: PlatformClient | None = None

    @property
    def id(self) -> str:
        return self.mapping.id

    @property
    def name(self) -> str:
        """The notifier's id and the worker job's name."""
        return f"hotline:{self.mapping.id}"

    @property
    def client(self) -> PlatformClient:
        if self._client is None:
            from .client import PlatformClient

            self._client = PlatformClient(self.mapping, self.secret, ca_bundle=self.ca_bundle)
        return self._client


def make_connector(mapping: Mapping, settings: HotlineSettings,
                   path: Path | None = None) -> Connector:
    secret = settings.secrets.get(mapping.id)
    if mapping.online and mapping.auth.scheme != "none" and secret is None:
        raise ConfigError(
            f"hotline connector {mapping.id} ({path or 'mapping'}) signs in with "
            f"{mapping.auth.scheme}: give its secret in {ENV['secrets']} as "
            f'{{"{mapping.id}": "..."}}',
            f"热线对接 {mapping.id} 使用 {mapping.auth.scheme} 认证：请在 {ENV['secrets']} 中"
            f"配置其密钥")
    return Connector(mapping, path,
                     secret.get_secret_value() if secret is not None else None,
                     settings.ca_bundle)


_CACHE: weakref.WeakKeyDictionary[Any, dict[str, Connector]] = weakref.WeakKeyDictionary()


def connectors(app: App) -> dict[str, Connector]:
    """The configured connectors of ``app``, by id (loaded once per application)."""
    from .mapping import load_mapping, mapping_files

    found = _CACHE.get(app)
    if found is None:
        settings = section(app)
        found = {}
        for path in mapping_files(settings.mappings):
            mapping = load_mapping(path)
            if mapping.id in found:
                raise ConfigError(
                    f"HC_HOTLINE_MAPPINGS: two mappings have the id {mapping.id} "
                    f"({found[mapping.id].path} and {path})",
                    f"HC_HOTLINE_MAPPINGS：两个映射文件的编号都是 {mapping.id}")
            found[mapping.id] = make_connector(mapping, settings, path)
        _CACHE[app] = found
    return found


def connector_for(app: App, name: str) -> Connector:
    """A mapping file's connector (a path), or a configured connector's id."""
    from .mapping import load_mapping

    path = Path(name)
    if path.suffix.lower() in (".toml", ".json") or path.is_file():
        mapping = load_mapping(path)
        settings = section(app)
        secret = settings.secrets.get(mapping.id)
        return Connector(mapping, path, secret.get_secret_value() if secret else None,
                         settings.ca_bundle)
    found = connectors(app).get(name)
    if found is None:
        known = ", ".join(sorted(connectors(app))) or "none configured (HC_HOTLINE_MAPPINGS)"
        raise ConfigError(f"--mapping {name}: neither a mapping file nor a configured "
                          f"connector; connectors: {known}",
                          f"--mapping {name}：既不是映射文件，也不是已配置的对接"
                          f"（已配置：{known}）")
    return found

"""The adapter's settings section (``[plugins.dicom]`` in the settings file, or the
``HC_DICOMWEB_*`` / ``HC_DICOM_*`` variables), declared through ``hc_register_settings`` and
read with ``app.plugin_config("dicom")``. The core's one settings loader reads the variables;
this module never touches the environment."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hospital_complaints.plugin_api import ConfigError, PluginSettings, zone
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: DICOM AE titles: 1-16 characters of the default character repertoire, no backslash
_AE = re.compile(r"^[ -\[\]-~]{1,16}$")
PLUGIN_ID = "dicom"


def _check_ae(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not _AE.match(value):
        raise ValueError(f"{what} must be a DICOM AE title: 1-16 ASCII characters, no "
                         "backslash (AE 名称须为 1-16 个 ASCII 字符)")
    return value


class DicomSettings(BaseModel):
    """``[plugins.dicom]``: where the PACS is, how to log in, and how to read its times.

    Secrets (``dicomweb_password``, ``dicomweb_token``) are :class:`SecretStr`: they never
    print. TLS certificates are always verified; ``dicomweb_ca_bundle`` names the hospital's
    own CA when the PACS uses one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dicomweb_url: str | None = None
    dicomweb_user: str | None = None
    dicomweb_password: SecretStr | None = None
    dicomweb_token: SecretStr | None = None
    dicomweb_ca_bundle: str | None = None
    dicomweb_timeout: float = Field(default=30.0, gt=0, le=600)
    dicomweb_retries: int = Field(default=3, ge=0, le=10)
    dicomweb_page_size: int = Field(default=500, ge=1, le=10000)
    dicomweb_lookback_days: int = Field(default=2, ge=0, le=60)
    zone: str | None = None
    ae_title: str = "HCOMPLAINTS"
    worklist: str | None = None
    worklist_ae: str = "ANY-SCP"
    worklist_charset: str = "ISO_IR 192"
    mpps_callers: str | None = None
    viewer_url: str | None = None

    @field_validator("dicomweb_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a DICOMweb base URL such as https://pacs.example/dicom-web "
                             "(须为 http(s):// 开头的 DICOMweb 地址)")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("plain http is allowed only on this machine (127.0.0.1); use "
                             "https for a PACS elsewhere (远程 PACS 须使用 https)")
        if parts.query or parts.fragment:
            raise ValueError("the base URL without ?query or #fragment (基础地址不能带查询参数)")
        return value.rstrip("/")

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone such as Asia/Shanghai (须为 IANA 时区名)") \
                from None
        return value.strip()

    @field_validator("ae_title", "worklist_ae")
    @classmethod
    def _ae(cls, value: str) -> str:
        checked = _check_ae(value, "an AE title")
        assert checked is not None
        return checked

    @field_validator("worklist")
    @classmethod
    def _worklist(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        host, sep, port = value.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("host:port of the worklist SCP, e.g. 10.1.2.3:104 "
                             "(须为 主机:端口)")
        return value.strip()

    @field_validator("worklist_charset")
    @classmethod
    def _charset(cls, value: str) -> str:
        import codecs

        from pydicom.charset import python_encoding

        try:
            codecs.lookup(python_encoding.get(value.strip(), value.strip()))
        except LookupError:
            raise ValueError("a DICOM character set term such as ISO_IR 192 (UTF-8) or "
                             "GB18030 (须为 DICOM 字符集名称)") from None
        return value.strip()

    @field_validator("mpps_callers")
    @classmethod
    def _callers(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for title in value.split(","):
            _check_ae(title, "each calling AE title")
        return ",".join(t.strip() for t in value.split(","))

    @field_validator("viewer_url")
    @classmethod
    def _viewer(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from .links import check_template

        return check_template(value.strip())

    # -- derived -------------------------------------------------------------------------

    def check_auth(self) -> None:
        """Basic or bearer, not both; user and password together. Checked when a client is
        built (not by the model, whose error would quote the section's values)."""
        if self.dicomweb_token is not None and self.dicomweb_user is not None:
            raise ConfigError(
                "HC_DICOMWEB_TOKEN (bearer) and HC_DICOMWEB_USER (basic) are both set: set "
                "one of them",
                "HC_DICOMWEB_TOKEN 与 HC_DICOMWEB_USER 不能同时设置：只能选择一种认证方式")
        if (self.dicomweb_user is None) != (self.dicomweb_password is None):
            raise ConfigError(
                "HC_DICOMWEB_USER and HC_DICOMWEB_PASSWORD go together: set both or neither",
                "HC_DICOMWEB_USER 与 HC_DICOMWEB_PASSWORD 须同时设置")

    def tz(self, default: str) -> ZoneInfo:
        """The zone of DICOM times sent without an offset: ``zone``, else ``default``
        (the deployment's ``HC_TIMEZONE``)."""
        return zone(self.zone or default)

    @property
    def callers(self) -> frozenset[str] | None:
        """The AE titles allowed to send MPPS, or ``None`` for any."""
        if self.mpps_callers is None:
            return None
        return frozenset(t for t in self.mpps_callers.split(",") if t)

    def worklist_address(self) -> tuple[str, int]:
        if self.worklist is None:
            raise ConfigError(
                "no worklist SCP configured: set HC_DICOM_WORKLIST=host:port (or "
                "[plugins.dicom] worklist), or pass --host and --port",
                "未配置检查工作列表（Worklist）服务：请设置 HC_DICOM_WORKLIST=主机:端口，"
                "或使用 --host 和 --port")
        host, _, port = self.worklist.rpartition(":")
        return host.strip("[]"), int(port)


DECLARATION = PluginSettings(
    id=PLUGIN_ID,
    model=DicomSettings,
    env={
        "dicomweb_url": "HC_DICOMWEB_URL",
        "dicomweb_user": "HC_DICOMWEB_USER",
        "dicomweb_password": "HC_DICOMWEB_PASSWORD",
        "dicomweb_token": "HC_DICOMWEB_TOKEN",
        "dicomweb_ca_bundle": "HC_DICOMWEB_CA_BUNDLE",
        "dicomweb_timeout": "HC_DICOMWEB_TIMEOUT",
        "dicomweb_retries": "HC_DICOMWEB_RETRIES",
        "dicomweb_page_size": "HC_DICOMWEB_PAGE_SIZE",
        "dicomweb_lookback_days": "HC_DICOMWEB_LOOKBACK_DAYS",
        "zone": "HC_DICOM_ZONE",
        "ae_title": "HC_DICOM_AE_TITLE",
        "worklist": "HC_DICOM_WORKLIST",
        "worklist_ae": "HC_DICOM_WORKLIST_AE",
        "worklist_charset": "HC_DICOM_WORKLIST_CHARSET",
        "mpps_callers": "HC_DICOM_MPPS_CALLERS",
        "viewer_url": "HC_DICOM_VIEWER_URL",
    },
    description="PACS adapter: DICOMweb, modality worklist, MPPS, viewer links",
)


def settings_of(app: Any) -> DicomSettings:
    """The validated section of ``app`` (a raw section is validated here)."""
    config = app.plugin_config(PLUGIN_ID)
    if isinstance(config, DicomSettings):
        return config
    return DicomSettings.model_validate(config or {})

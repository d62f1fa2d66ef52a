"""Per-sender profiles: where a sending application/facility puts each value.

A profile file is TOML with one ``[[profile]]`` table per sender (documented in
``docs/hl7v2.md``, proposed from a sample feed by ``hospital-complaints hl7 profile
suggest``)::

    [[profile]]
    name = "cerner-main"
    sending_application = "CERNER"   # MSH-3.1 (case ignored); leave out to match any
    sending_facility = "MAIN"        # MSH-4.1
    charset = "8859/1"               # assumed when MSH-18 is empty
    force_charset = true             # ... and used even when MSH-18 declares another
    zone = "Europe/Berlin"           # times sent without an offset
    accession_from_filler_order = false

    [profile.fields]                 # first non-empty wins; replaces the built-in list
    accession_number = ["OBR-20", "OBR-18"]
    scheduled_start = ["OBR-36"]

    [profile.modality_aliases]
    NMR = "MR"

A message takes the most specific profile that matches its MSH-3.1 and MSH-4.1 (both named
> one named > neither), the first in the file among equals; a message no profile matches
is read with the built-in rules.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hospital_complaints.plugin_api import ConfigError
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .charsets import codec_for
from .errors import Hl7InputError
from .modality import DICOM_RETIRED, DICOM_TERMS, is_storable

#: a field path: segment id, field, optional component (``OBR-20``, ``AIL-3.2``)
PATH = re.compile(r"([A-Z][A-Z0-9]{2})-([1-9][0-9]{0,2})(?:\.([1-9][0-9]?))?\Z")

#: the values a profile may say where to read from
FIELD_NAMES = ("accession_number", "placer_order", "filler_order", "requested_procedure_id",
               "modality", "station", "room", "patient_id", "scheduled_start")


def parse_path(text: str) -> tuple[str, int, int]:
    """``"OBR-20"`` -> ``("OBR", 20, 1)``; ``"AIL-3.2"`` -> ``("AIL", 3, 2)``."""
    m = PATH.match(text.strip().upper())
    if m is None:
        raise ValueError(f"{text!r} is not a field path such as OBR-20 or AIL-3.2 "
                         "(segment id, field number, optional component number)")
    return m.group(1), int(m.group(2)), int(m.group(3) or 1)


class FieldPaths(BaseModel):
    """Where each value is read from (a list of field paths; first non-empty wins)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accession_number: tuple[str, ...] | None = None
    placer_order: tuple[str, ...] | None = None
    filler_order: tuple[str, ...] | None = None
    requested_procedure_id: tuple[str, ...] | None = None
    modality: tuple[str, ...] | None = None
    station: tuple[str, ...] | None = None
    room: tuple[str, ...] | None = None
    patient_id: tuple[str, ...] | None = None
    scheduled_start: tuple[str, ...] | None = None

    @field_validator("*")
    @classmethod
    def _paths(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        for text in value:
            parse_path(text)
        return tuple(text.strip().upper() for text in value)

    def given(self) -> dict[str, tuple[tuple[str, int, int], ...]]:
        """The names the profile sets, with their paths parsed."""
        return {name: tuple(parse_path(p) for p in paths)
                for name in FIELD_NAMES if (paths := getattr(self, name)) is not None}


class Profile(BaseModel):
    """One sender's profile (a ``[[profile]]`` table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sending_application: str | None = None
    sending_facility: str | None = None
    charset: str | None = None
    force_charset: bool = False
    zone: str | None = None
    accession_from_filler_order: bool | None = None
    fields: FieldPaths = FieldPaths()
    modality_aliases: dict[str, str] = {}
    station_resource_types: tuple[str, ...] = ()

    @field_validator("charset")
    @classmethod
    def _charset(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codec_for(value, "charset")
            except Hl7InputError:
                raise ValueError("unknown character set; use an HL7 table 0211 name such as "
                                 "UNICODE UTF-8, 8859/1, GB 18030-2000, or a Python codec "
                                 "name") from None
        return value

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("unknown time zone; use an IANA name such as "
                                 "Asia/Shanghai or Europe/Berlin") from None
        return value

    @field_validator("modality_aliases")
    @classmethod
    def _aliases(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for sent, term in value.items():
            up = term.strip().upper()
            if not ((up in DICOM_TERMS or up in DICOM_RETIRED) and is_storable(up)):
                raise ValueError(f"alias {sent!r} maps to {term!r}, which is not a DICOM "
                                 "modality defined term of 2-4 letters (CT, MR, DX, US, ...)")
            out[sent.strip().upper()] = up
        return out

    @property
    def codec(self) -> str | None:
        return codec_for(self.charset, "charset") if self.charset else None

    @property
    def tz(self) -> ZoneInfo | None:
        return ZoneInfo(self.zone) if self.zone else None

    def matches(self, application: str, facility: str) -> int:
        """How specifically this profile matches a sender: -1 not at all, else the number
        of named parts that match (0: a profile for every sender)."""
        score = 0
        for want, got in ((self.sending_application, application),
                          (self.sending_facility, facility)):
            if want is not None and want.strip() not in ("", "*"):
                if want.strip().upper() != got.strip().upper():
                    return -1
                score += 1
        return score


@dataclass(eq=False)
class Profiles:
    """The profiles of one file, and which one each sender gets (remembered per sender)."""

    profiles: tuple[Profile, ...]
    source: str = "<profiles>"
    _chosen: dict[tuple[str, str], Profile | None] = field(default_factory=dict, repr=False)

    def for_sender(self, application: str, facility: str) -> Profile | None:
        key = (application, facility)
        try:
            return self._chosen[key]
        except KeyError:
            pass
        best: Profile | None = None
        best_score = -1
        for p in self.profiles:
            score = p.matches(application, facility)
            if score > best_score:
                best, best_score = p, score
        if len(self._chosen) < 4096:
            self._chosen[key] = best
        return best

    def for_raw(self, raw: bytes) -> Profile | None:
        """The profile of a message's bytes (MSH-3.1 and MSH-4.1 read before decoding)."""
        return self.for_sender(*sender_of(raw))


def sender_of(raw: bytes) -> tuple[str, str]:
    """MSH-3.1 and MSH-4.1 from a message's bytes (ASCII compared only: before decoding,
    whatever the character set); empty strings when there is no MSH."""
    start = 0 if raw.startswith(b"MSH") else raw.find(b"MSH")
    if start < 0 or len(raw) < start + 8:
        return "", ""
    sep = raw[start + 3:start + 4]
    comp = raw[start + 4:start + 5]
    end = len(raw)
    for eol in (b"\r", b"\n"):
        pos = raw.find(eol, start, end)
        if pos >= 0:
            end = pos
    parts = raw[start:end].split(sep, 4)
    out = []
    for i in (2, 3):
        value = parts[i] if len(parts) > i else b""
        if comp and comp != sep:
            value = value.split(comp, 1)[0]
        out.append(value.decode("latin-1").strip())
    return out[0], out[1]


def load(path: str | Path) -> Profiles:
    """Read and check a profile file; a :class:`ConfigError` (zh + en) names the file, the
    profile and the key that is wrong, and what is allowed."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the HL7 profile file {p}: {exc.strerror}",
                          f"无法读取 HL7 发送方配置文件 {p}：{exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the HL7 profile file {p} is not UTF-8 text",
                          f"HL7 发送方配置文件 {p} 不是 UTF-8 文本") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the HL7 profile file {p} is not valid TOML: {exc}",
                          f"HL7 发送方配置文件 {p} 不是有效的 TOML：{exc}") from None
    return from_data(data, str(p))


def from_data(data: Mapping[str, Any], source: str = "<profiles>") -> Profiles:
    """:func:`load` for data already parsed (``{"profile": [{...}, ...]}``)."""
    extra = sorted(set(data) - {"profile"})
    if extra:
        raise ConfigError(f"{source}: unknown top-level key {extra[0]!r}; a profile file "
                          "holds [[profile]] tables only",
                          f"{source}：未知的顶层键 {extra[0]!r}；配置文件只能包含 [[profile]] 表")
    items = data.get("profile", [])
    if not isinstance(items, list):
        raise ConfigError(f"{source}: 'profile' must be an array of tables ([[profile]])",
                          f"{source}：'profile' 必须是表数组（[[profile]]）")
    profiles = []
    names: set[str] = set()
    for i, item in enumerate(items, start=1):
        label = item.get("name") if isinstance(item, dict) else None
        where = f"{source}: profile {i}" + (f" ({label!r})" if isinstance(label, str) else "")
        try:
            profile = Profile.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(x) for x in first["loc"]) or "(the table)"
            msg = str(first["msg"]).removeprefix("Value error, ")
            allowed = ""
            if first["type"] == "extra_forbidden":
                top = first["loc"][0] if first["loc"] else ""
                known = FIELD_NAMES if top == "fields" else tuple(Profile.model_fields)
                allowed = f"; allowed: {', '.join(known)}"
            raise ConfigError(f"{where}: {key}: {msg}{allowed}",
                              f"{where}：{key}：{msg}{allowed}") from None
        if profile.name in names:
            raise ConfigError(f"{where}: the name {profile.name!r} is used twice",
                              f"{where}：名称 {profile.name!r} 重复") from None
        names.add(profile.name)
        profiles.append(profile)
    return Profiles(tuple(profiles), source)

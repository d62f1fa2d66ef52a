"""QIDO-RS (DICOMweb search) over HTTP: query strings built on purpose, paging, auth, retries.

Why the query string is built here and not by ``requests``/``dicomweb-client``: Orthanc (1.10,
the PACS of many departments) never percent-decodes QIDO values, so ``*``, ``^`` or ``?``
sent as ``%2A``, ``%5E``, ``%3F`` match nothing and the answer is ``[]`` with HTTP 200.
``requests`` re-encodes ``^`` even in a URL built by hand, and dicomweb-client encodes every
value with ``quote_plus``. So :func:`build_query` writes ``key=value`` pairs itself, from
values it has checked hold only characters that need no encoding, and the request goes out
through httpx, which keeps such a URL as it is. A value that cannot be sent that way (a
space, a comma, non-ASCII) is refused with an error saying what to do, instead of being sent
and silently matching nothing.

Other silent failures refused here: an unknown attribute name (the server ignores it, so a
typo returns everything), a date with dashes (``2026-10-21`` matches nothing; ``20261021`` or
``20261021-20261022``), an empty value.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from .errors import DicomWebError, QueryError, describe

log = logging.getLogger(__name__)

#: QIDO parameters that are not attributes
_CONTROL = {"limit", "offset", "includefield", "fuzzymatching"}
_TAG = re.compile(r"^[0-9A-Fa-f]{8}$")
#: characters a value may hold so that no percent-encoding is needed anywhere on the way:
#: unreserved characters plus the wildcards * ? and the PN separator ^ (httpx keeps them)
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._~*?^:/@!$'()\-]*$")
_DA_RANGE = re.compile(r"^(\d{8})?(-(\d{8})?)?$")
_TM_RANGE = re.compile(r"^(\d{2,6}(\.\d{1,6})?)?(-(\d{2,6}(\.\d{1,6})?)?)?$")
_DT_RANGE = re.compile(r"^(\d{4,14}(\.\d{1,6})?([+-]\d{4})?)?(-(\d{4,14}(\.\d{1,6})?"
                       r"([+-]\d{4})?)?)?$")
_UID = re.compile(r"^[0-9.]{1,64}$")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def attribute_key(name: str) -> tuple[str, int]:
    """``(keyword or tag as given, tag)`` for a query key; :class:`QueryError` for a name that
    is neither a DICOM keyword nor an 8-digit tag (the server would ignore it)."""
    if _TAG.match(name):
        return name.upper(), int(name, 16)
    tag = tag_for_keyword(name)
    if tag is None:
        raise QueryError(
            f"QIDO: {name!r} is not a DICOM attribute keyword (such as AccessionNumber) or "
            "tag (such as 00080050); a server ignores unknown keys and would return "
            "everything",
            f"QIDO：{name!r} 不是 DICOM 属性关键字（如 AccessionNumber）或标签（如 00080050）；"
            "服务器会忽略未知的查询键并返回全部结果")
    return name, tag


def check_value(name: str, tag: int, value: str) -> str:
    """``value`` as it may be sent for attribute ``tag``; :class:`QueryError` otherwise."""
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        vr = "UN"
    label = keyword_for_tag(tag) or name
    if value == "":
        raise QueryError(f"QIDO {label}: an empty value matches everything; leave the key out",
                         f"QIDO {label}：空值会匹配全部结果；请去掉该查询条件")
    if vr == "DA":
        if not _DA_RANGE.match(value) or value == "-":
            raise QueryError(
                f"QIDO {label}: dates are YYYYMMDD or a range YYYYMMDD-YYYYMMDD (given "
                f"{describe(value)}); 2026-10-21 with dashes matches nothing",
                f"QIDO {label}：日期格式须为 YYYYMMDD 或 YYYYMMDD-YYYYMMDD"
                "（带短横线的 2026-10-21 匹配不到任何结果）")
        return value
    if vr == "TM":
        if not _TM_RANGE.match(value) or value == "-":
            raise QueryError(f"QIDO {label}: times are HHMMSS or a range HHMMSS-HHMMSS",
                             f"QIDO {label}：时间格式须为 HHMMSS 或 HHMMSS-HHMMSS")
        return value
    if vr == "DT":
        if not _DT_RANGE.match(value) or value == "-":
            raise QueryError(f"QIDO {label}: date-times are YYYYMMDDHHMMSS or a range",
                             f"QIDO {label}：日期时间格式须为 YYYYMMDDHHMMSS 或范围")
        return value
    if vr == "UI" and not _UID.match(value):
        raise QueryError(f"QIDO {label}: a UID is digits and dots (given {describe(value)})",
                         f"QIDO {label}：UID 只能由数字和点组成")
    if " " in value:
        raise QueryError(
            f"QIDO {label}: a space cannot be sent (Orthanc never decodes %20 and clients "
            "refuse a raw space); put ? (any one character) in its place, e.g. CT?3",
            f"QIDO {label}：无法发送空格（Orthanc 不解码 %20）；请用 ? 代替空格，例如 CT?3")
    if not value.isascii():
        raise QueryError(
            f"QIDO {label}: only ASCII values can be searched on this PACS (Orthanc does not "
            "decode percent-encoded UTF-8); search by another attribute (accession, date)",
            f"QIDO {label}：该 PACS 只能按 ASCII 字符检索（Orthanc 不解码 UTF-8 编码），"
            "中文等字符无法检索；请改用检查号、日期等条件")
    if "," in value:
        raise QueryError(
            f"QIDO {label}: a comma splits a value into a list of values; query once per value",
            f"QIDO {label}：逗号会把取值拆成多个值；请逐个查询")
    if not _SAFE_VALUE.match(value):
        raise QueryError(
            f"QIDO {label}: {describe(value)} holds characters that would have to be "
            "percent-encoded, which Orthanc never decodes (allowed: letters, digits, "
            ". - _ ~ : / @ and the wildcards * ? ^)",
            f"QIDO {label}：取值含有需要百分号编码的字符，Orthanc 无法匹配"
            "（允许：字母、数字、. - _ ~ : / @ 及通配符 * ? ^）")
    return value


def build_query(filters: Mapping[str, str] | Sequence[tuple[str, str]] = (),
                includefields: Sequence[str] = (), *, limit: int | None = None,
                offset: int | None = None, fuzzymatching: bool | None = None) -> str:
    """The query string (without ``?``) of a QIDO-RS search, every key and value checked and
    written without percent-encoding (module docstring). Keys are DICOM keywords or tags."""
    parts: list[str] = []
    items = filters.items() if isinstance(filters, Mapping) else filters
    for name, raw in items:
        if name in _CONTROL:
            raise QueryError(f"QIDO: {name!r} is a paging/control parameter, not a filter",
                             f"QIDO：{name!r} 是分页/控制参数，不是检索条件")
        key, tag = attribute_key(name)
        parts.append(f"{key}={check_value(name, tag, str(raw))}")
    for field in includefields:
        if field != "all":
            attribute_key(field)
        parts.append(f"includefield={field}")
    if fuzzymatching is not None:
        parts.append(f"fuzzymatching={'true' if fuzzymatching else 'false'}")
    if limit is not None:
        parts.append(f"limit={int(limit)}")
    if offset:
        parts.append(f"offset={int(offset)}")
    return "&".join(parts)


class QidoClient:
    """A QIDO-RS client on httpx: one connection pool, TLS verified (the system's CAs or
    ``verify``, a CA bundle path), basic or bearer authentication, a timeout per request and
    retries with backoff on connection errors and on 429/5xx (honouring ``Retry-After``, at
    most 30 s).

    :param base_url: the DICOMweb root, e.g. ``https://pacs.example/dicom-web``.
    :param page_size: ``limit`` of each page; :meth:`pages` pages with ``offset`` until a
        page comes back shorter.
    """

    def __init__(self, base_url: str, *, auth: httpx.Auth | tuple[str, str] | None = None,
                 token: str | None = None, verify: bool | str = True, timeout: float = 30.0,
                 retries: int = 3, page_size: int = 500,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.retries = retries
        self._sleep = sleep
        headers = {"Accept": "application/dicom+json, application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(auth=auth, verify=verify, timeout=timeout, headers=headers,
                                  transport=transport, follow_redirects=False)
        #: requests sent (retries included), for reports and benchmarks
        self.requests = 0

    @classmethod
    def from_settings(cls, settings: Any) -> QidoClient:
        """The client ``[plugins.dicom]`` configures (``HC_DICOMWEB_*``)."""
        from hospital_complaints.plugin_api import ConfigError

        if settings.dicomweb_url is None:
            raise ConfigError(
                "no DICOMweb server configured: set HC_DICOMWEB_URL (e.g. "
                "https://pacs.example/dicom-web)",
                "未配置 DICOMweb 服务器：请设置 HC_DICOMWEB_URL（例如 "
                "https://pacs.example/dicom-web）")
        settings.check_auth()
        auth = None
        if settings.dicomweb_user is not None:
            auth = (settings.dicomweb_user, settings.dicomweb_password.get_secret_value())
        token = (settings.dicomweb_token.get_secret_value()
                 if settings.dicomweb_token is not None else None)
        verify: bool | str = settings.dicomweb_ca_bundle or True
        return cls(settings.dicomweb_url, auth=auth, token=token, verify=verify,
                   timeout=settings.dicomweb_timeout, retries=settings.dicomweb_retries,
                   page_size=settings.dicomweb_page_size)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> QidoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request ---------------------------------------------------------------------------

    def get_json(self, path: str, query: str = "") -> list[dict[str, Any]]:
        """GET ``base_url/path?query`` (``query`` as :func:`build_query` wrote it) and return
        the DICOM JSON array."""
        url = f"{self.base_url}/{path.lstrip('/')}" + (f"?{query}" if query else "")
        where = f"{self.base_url}/{path.lstrip('/')}"
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                response = self._http.get(url)
            except httpx.TransportError as exc:
                if attempt > self.retries:
                    raise DicomWebError(
                        f"DICOMweb {where}: {type(exc).__name__} after {attempt} attempts "
                        f"({_reason(exc)}); check HC_DICOMWEB_URL and the network",
                        f"DICOMweb {where}：尝试 {attempt} 次后仍无法连接"
                        f"（{type(exc).__name__}）；请检查 HC_DICOMWEB_URL 和网络") from None
                self._sleep(_backoff(attempt))
                continue
            if response.status_code in RETRY_STATUSES and attempt <= self.retries:
                self._sleep(_retry_after(response) or _backoff(attempt))
                continue
            return self._json(response, where)

    def _json(self, response: httpx.Response, where: str) -> list[dict[str, Any]]:
        status = response.status_code
        if status in (401, 403):
            raise DicomWebError(
                f"DICOMweb {where}: the server refused our credentials (HTTP {status}); check "
                "HC_DICOMWEB_USER / HC_DICOMWEB_PASSWORD or HC_DICOMWEB_TOKEN",
                f"DICOMweb {where}：服务器拒绝了认证信息（HTTP {status}）；请检查 "
                "HC_DICOMWEB_USER / HC_DICOMWEB_PASSWORD 或 HC_DICOMWEB_TOKEN", status)
        if status == 204:
            return []
        if status != 200:
            raise DicomWebError(f"DICOMweb {where}: HTTP {status} {response.reason_phrase}",
                                f"DICOMweb {where}：服务器返回 HTTP {status}", status)
        warning = response.headers.get("Warning")
        if warning:
            log.warning("DICOMweb %s: the server warns: %s", where, warning[:200])
        if not response.content.strip():
            return []
        try:
            data = response.json()
        except ValueError:
            raise DicomWebError(f"DICOMweb {where}: the answer is not JSON",
                                f"DICOMweb {where}：返回内容不是 JSON", status) from None
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise DicomWebError(f"DICOMweb {where}: the answer is not a DICOM JSON array",
                                f"DICOMweb {where}：返回内容不是 DICOM JSON 数组", status)
        return data

    # -- searches ---------------------------------------------------------------------------

    def pages(self, path: str, filters: Mapping[str, str] | Sequence[tuple[str, str]] = (),
              includefields: Sequence[str] = (), *,
              page_size: int | None = None) -> Iterator[list[dict[str, Any]]]:
        """Every page of a search (``path``: ``studies``, ``series``,
        ``studies/{uid}/series``), ``limit``/``offset`` paging until a short page."""
        limit = page_size or self.page_size
        offset = 0
        previous_first: str | None = None
        while True:
            query = build_query(filters, includefields, limit=limit, offset=offset)
            page = self.get_json(path, query)
            if page:
                first = _first_uid(page[0])
                if offset and first is not None and first == previous_first:
                    raise DicomWebError(
                        f"DICOMweb {self.base_url}/{path}: the server returned the same page "
                        "for another offset (it ignores paging); query smaller date ranges",
                        f"DICOMweb {self.base_url}/{path}：服务器忽略了分页参数（offset）")
                previous_first = first
            yield page
            if len(page) < limit:
                return
            offset += len(page)

    def search(self, path: str, filters: Mapping[str, str] | Sequence[tuple[str, str]] = (),
               includefields: Sequence[str] = (), *,
               page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every result of a search, page after page."""
        for page in self.pages(path, filters, includefields, page_size=page_size):
            yield from page


def _first_uid(obj: Mapping[str, Any]) -> str | None:
    for tag in ("0020000E", "0020000D", "00080018"):  # series, study, instance UID
        element = obj.get(tag)
        if isinstance(element, dict) and element.get("Value"):
            return str(element["Value"][0])
    return None


def _backoff(attempt: int) -> float:
    return float(min(0.5 * 2 ** (attempt - 1), 8.0))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 30.0) if value.strip().isdigit() else None


def _reason(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__)[:120]

"""Talking to a platform as its mapping says: the URL, the signature, the request envelope, the
answer envelope, and paging.

Rules every call follows: TLS verification always on (a site's CA bundle may be given);
connect and read timeouts; redirects never followed (they would carry a signed request
somewhere unconfigured); failures turned into :class:`PlatformError` texts that name the
platform's host and path, never a query, a header, a secret or the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from collections.abc import Mapping as MappingT
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from .errors import PlatformError, plain
from .mapping import Feed, Mapping, code_text, pick

if TYPE_CHECKING:  # imported by the first request: registering a notifier needs no HTTP stack
    import requests

USER_AGENT = "hospital-complaints-hotline/0.1"


@dataclass(frozen=True)
class Answer:
    """A successful answer: its data, and whether the platform said it had seen the request
    id before (``duplicate``: a repeat, nothing new was done)."""

    data: Any
    duplicate: bool = False


class PlatformClient:
    def __init__(self, mapping: Mapping, secret: str | None, *, ca_bundle: Path | None = None,
                 clock: Callable[[], float] = time.time,
                 session: requests.Session | None = None) -> None:
        if mapping.http is None or mapping.envelope is None:
            raise ValueError(f"mapping {mapping.id} has no [http] / [envelope]")
        self.mapping = mapping
        self.http = mapping.http
        self.envelope = mapping.envelope
        self._secret = secret
        self._clock = clock
        self.verify: str | bool = str(ca_bundle) if ca_bundle is not None else True
        self._session = session

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers["User-Agent"] = USER_AGENT
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- one call ------------------------------------------------------------------------------

    def call(self, method: str, path: str, *, params: MappingT[str, Any] | None = None,
             fields: MappingT[str, Any] | None = None,
             request_id: str | None = None) -> Answer:
        """One request. ``params`` go in the query (GET) or, with ``fields``, in the body;
        ``fields`` are wrapped as the mapping's ``[request]`` says."""
        url = self.http.base_url + path
        query = ""
        body = b""
        if method == "GET":
            if params:
                query = urlencode({k: code_text(v) for k, v in params.items()})
        else:
            content = dict(params or {})
            content.update(fields or {})
            body = json.dumps(self._envelope(content, request_id), ensure_ascii=False,
                              separators=(",", ":")).encode("utf-8")
        full = f"{url}?{query}" if query else url
        headers = {"Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        rs = self.mapping.request
        if request_id is not None and rs.request_id_header:
            headers[rs.request_id_header] = request_id
        headers.update(self._auth(method, urlsplit(url).path, query, body))
        where = f"{urlsplit(url).netloc}{urlsplit(url).path}"
        import requests

        try:
            response = self.session.request(method, full, data=body or None, headers=headers,
                                            timeout=(self.http.timeout_s, self.http.timeout_s),
                                            verify=self.verify, allow_redirects=False)
        except requests.exceptions.SSLError:
            raise PlatformError(f"TLS verification of {where} failed (check its certificate or "
                                "HC_HOTLINE_CA_BUNDLE)", f"{where} 证书校验失败",
                                temporary=True) from None
        except requests.exceptions.Timeout:
            raise PlatformError(f"{where} did not answer within {self.http.timeout_s:g} s",
                                f"{where} 响应超时", temporary=True) from None
        except requests.exceptions.ConnectionError:
            raise PlatformError(f"cannot connect to {where}", f"无法连接 {where}",
                                temporary=True) from None
        except requests.exceptions.RequestException as exc:
            raise PlatformError(f"request to {where} failed ({type(exc).__name__})",
                                f"请求 {where} 失败", temporary=True) from None
        return self._answer(response.status_code, response.content, where)

    def _envelope(self, content: dict[str, Any], request_id: str | None) -> dict[str, Any]:
        rs = self.mapping.request
        out: dict[str, Any] = dict(rs.constants)
        if request_id is not None and rs.request_id_field:
            out[rs.request_id_field] = request_id
        if rs.wrap_field:
            out[rs.wrap_field] = content
        else:
            out.update(content)
        return out

    def _auth(self, method: str, path: str, query: str, body: bytes) -> dict[str, str]:
        auth = self.mapping.auth
        secret = self._secret or ""
        if auth.scheme == "token":
            return {auth.header: f"{auth.prefix}{secret}"}
        if auth.scheme == "basic":
            pair = f"{auth.username}:{secret}".encode()
            return {auth.header: "Basic " + base64.b64encode(pair).decode("ascii")}
        if auth.scheme == "hmac":
            now = self._clock()
            stamp = str(int(now * 1000)) if auth.timestamp_unit == "ms" else str(int(now))
            nonce = uuid.uuid4().hex
            text = auth.string_to_sign.format(
                app_id=auth.app_id or "", timestamp=stamp, nonce=nonce, method=method,
                path=path, query=query, body_sha256=hashlib.sha256(body).hexdigest())
            mac = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), auth.digest).digest()
            sig = mac.hex() if auth.encoding == "hex" else base64.b64encode(mac).decode("ascii")
            headers = {auth.timestamp_header: stamp, auth.signature_header: sig}
            if auth.nonce_header:
                headers[auth.nonce_header] = nonce
            if auth.app_id_header and auth.app_id:
                headers[auth.app_id_header] = auth.app_id
            return headers
        return {}

    def _answer(self, status: int, content: bytes, where: str) -> Answer:
        if status in (408, 429) or status >= 500:
            raise PlatformError(f"{where} answered HTTP {status}; will retry",
                                f"{where} 返回 HTTP {status}，稍后重试", temporary=True,
                                status=status)
        if not 200 <= status < 300:
            raise PlatformError(f"{where} refused the request with HTTP {status}",
                                f"{where} 以 HTTP {status} 拒绝了请求", temporary=False,
                                status=status)
        try:
            body = json.loads(content.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            raise PlatformError(f"{where} answered HTTP {status} without JSON (a proxy's page?); "
                                "will retry", f"{where} 的应答不是 JSON，稍后重试",
                                temporary=True, status=status) from None
        env = self.envelope
        code = code_text(pick(body, env.success_field))
        message = pick(body, env.message_field) if env.message_field else None
        said = f": {plain(str(message))}" if message else ""
        if code in env.success_values:
            return Answer(pick(body, env.data_field) if env.data_field else body)
        if code in env.duplicate_values:
            return Answer(None, duplicate=True)
        if code in env.retry_values:
            raise PlatformError(f"{where} is busy ({env.success_field} {code}{said}); will retry",
                                f"{where} 繁忙（{code}{said}），稍后重试", temporary=True,
                                status=status)
        raise PlatformError(f"{where} refused the request ({env.success_field} {code}{said})",
                            f"{where} 拒绝了请求（{code}{said}）", temporary=False, status=status)

    # -- paging ----------------------------------------------------------------------------

    def pages(self, feed: Feed, since: str | None,
              max_pages: int) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """The feed's pages from ``since``: each page's records, and (cursor paging) the
        cursor after it. Stops at the last page or after ``max_pages``."""
        params: dict[str, Any] = dict(feed.params)
        if since is not None and feed.since_param:
            params[feed.since_param] = since
        if feed.size_param:
            params[feed.size_param] = feed.page_size
        page = feed.first_page
        cursor = since
        seen = 0
        for _ in range(max_pages):
            if feed.paging == "page":
                params[feed.page_param] = page
            elif feed.paging == "cursor" and cursor is not None:
                assert feed.cursor_param is not None
                params[feed.cursor_param] = cursor
            answer = self.call(feed.method, feed.path, params=params,
                               request_id=uuid.uuid4().hex if feed.method == "POST" else None)
            data = answer.data
            items = pick(data, feed.items_field) if feed.items_field else data
            if items is None:
                items = []
            if not isinstance(items, list):
                raise PlatformError(
                    f"{feed.path}: {feed.items_field or 'the data'} is not a list",
                    f"{feed.path}：{feed.items_field or '数据'} 不是列表", temporary=False)
            records = [x if isinstance(x, dict) else {"_": x} for x in items]
            seen += len(records)
            if feed.paging == "cursor":
                assert feed.next_cursor_field is not None
                nxt = pick(data, feed.next_cursor_field)
                nxt_text = code_text(nxt) if nxt not in (None, "") else None
                yield records, nxt_text or cursor
                if not records or nxt_text is None or nxt_text == cursor:
                    return
                cursor = nxt_text
                continue
            yield records, None
            if feed.paging == "none" or len(records) < feed.page_size:
                return
            total = pick(data, feed.total_field) if feed.total_field else None
            if total is not None and seen >= int(code_text(total) or 0):
                return
            page += 1


def path_for(template: str, ticket: str) -> str:
    return template.replace("{ticket}", quote(ticket, safe=""))

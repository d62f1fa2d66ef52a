"""One HTTP POST with the rules every HTTP transport shares (webhook, WeCom, SMS): TLS
verification always on (a site's CA bundle may be given), connect and read timeouts,
redirects never followed, connections kept alive between deliveries, and failures turned into
texts without the URL's query (a robot key) or the body."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests

from .base import USER_AGENT, TransportError, safe_url


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str


class HttpSender:
    def __init__(self, *, timeout_s: float, ca_bundle: Path | None = None) -> None:
        self.timeout_s = timeout_s
        self.verify: str | bool = str(ca_bundle) if ca_bundle is not None else True
        self._session: requests.Session | None = None

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
            self._session.headers["User-Agent"] = USER_AGENT
        return self._session

    def send(self, method: str, url: str, body: bytes, headers: dict[str, str],
             *, max_answer: int = 65536) -> Answer:
        """Send; the answer keeps at most ``max_answer`` bytes of its body. Network trouble
        raises :class:`TransportError` (retried)."""
        where = safe_url(url)
        try:
            response = self.session.request(method, url, data=body, headers=headers,
                                            timeout=(self.timeout_s, self.timeout_s),
                                            verify=self.verify, allow_redirects=False)
            return Answer(response.status_code, response.content[:max_answer],
                          response.headers.get("Content-Type", ""))
        except requests.exceptions.SSLError:
            raise TransportError(f"TLS verification of {where} failed (check the server's "
                                 "certificate or the CA bundle) 证书校验失败") from None
        except requests.exceptions.Timeout:
            raise TransportError(f"{where} did not answer within {self.timeout_s:g} s "
                                 "接收方响应超时") from None
        except requests.exceptions.ConnectionError:
            raise TransportError(f"cannot connect to {where} 无法连接接收方") from None
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"HTTP request to {where} failed ({type(exc).__name__}) "
                                 "请求失败") from None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

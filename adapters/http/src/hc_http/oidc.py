"""OIDC / OAuth2 bearer tokens: a JWT signed by the hospital's identity provider.

A token is accepted when its signature verifies with a key of the IdP's JWKS (fetched from
``oidc_jwks_url`` or discovered at ``<issuer>/.well-known/openid-configuration``, cached, and
fetched again when a token names an unknown key id), its algorithm is one of the configured
asymmetric ones (never ``none``, never HMAC), ``iss`` is the configured issuer, ``aud``
contains the configured audience, and ``exp``/``nbf``/``iat`` hold within the clock skew.

Times are checked against the system's real time (``wall_clock``), the clock the IdP signs
with, not the application's business clock.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from threading import Lock
from typing import Any

import jwt
from jwt import PyJWKClient

from .settings import HttpSettings


class TokenRejected(Exception):
    """The token is not acceptable; ``reason`` says why (never the token)."""

    def __init__(self, reason: str, zh: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.zh = zh


class IdpUnavailable(Exception):
    """The identity provider's keys could not be fetched."""


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``realm_access.roles``), or ``None``."""
    current: Any = claims
    for step in path.split("."):
        if not isinstance(current, Mapping) or step not in current:
            return None
        current = current[step]
    return current


class OidcVerifier:
    def __init__(self, settings: HttpSettings, *,
                 wall_clock: Callable[[], float] = time.time) -> None:
        if settings.oidc_issuer is None or settings.oidc_audience is None:
            raise ValueError("OIDC is not configured")
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.algorithms = list(settings.oidc_algorithms)
        self.skew = settings.oidc_clock_skew
        self.wall_clock = wall_clock
        self._jwks_url = settings.oidc_jwks_url
        self._client: PyJWKClient | None = None
        self._lock = Lock()

    def _jwks(self) -> PyJWKClient:
        with self._lock:
            if self._client is None:
                url = self._jwks_url or self._discover()
                self._client = PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
            return self._client

    def _discover(self) -> str:
        where = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(where, timeout=5) as answer:
                document = json.loads(answer.read(1024 * 1024))
        except (OSError, ValueError) as exc:
            raise IdpUnavailable(f"OIDC discovery at {where} failed ({type(exc).__name__})") \
                from None
        url = document.get("jwks_uri") if isinstance(document, dict) else None
        if not isinstance(url, str):
            raise IdpUnavailable(f"OIDC discovery at {where} has no jwks_uri")
        return url

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or :class:`TokenRejected` / :class:`IdpUnavailable`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("not a JWT", "不是有效的 JWT") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise TokenRejected(f"algorithm {str(alg)[:20]!r} is not accepted (allowed: "
                                f"{', '.join(self.algorithms)})",
                                f"不接受签名算法 {str(alg)[:20]!r}") from None
        try:
            key = self._jwks().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise IdpUnavailable("the identity provider's JWKS could not be fetched") from None
        except jwt.PyJWKClientError:
            raise TokenRejected("signed with a key the identity provider does not publish",
                                "签名密钥不在身份提供方公布的密钥中") from None
        except jwt.PyJWTError:
            raise TokenRejected("not a JWT", "不是有效的 JWT") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=[alg], audience=self.audience, issuer=self.issuer,
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "require": ["exp", "iss", "aud"]})
        except jwt.InvalidAudienceError:
            raise TokenRejected("issued for another audience", "令牌的受众（aud）不是本服务") \
                from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("issued by another issuer", "令牌的签发方（iss）不正确") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"claim {exc.claim!r} is missing", f"缺少声明 {exc.claim!r}") \
                from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("the signature does not verify", "签名校验失败") from None
        except jwt.PyJWTError:
            raise TokenRejected("not a valid token", "令牌无效") from None
        self._check_times(claims)
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self.wall_clock()
        exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
        for name, value in (("exp", exp), ("nbf", nbf), ("iat", iat)):
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
                raise TokenRejected(f"claim {name!r} is not a number", f"声明 {name!r} 不是数字")
        if exp is not None and now > exp + self.skew:
            raise TokenRejected("expired", "令牌已过期")
        if nbf is not None and now + self.skew < nbf:
            raise TokenRejected("not valid yet (nbf)", "令牌尚未生效")
        if iat is not None and now + self.skew < iat:
            raise TokenRejected("issued in the future (iat)", "令牌签发时间晚于当前时间")

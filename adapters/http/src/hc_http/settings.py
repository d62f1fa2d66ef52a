"""The HTTP adapter's settings: the ``http`` section of the settings tree.

Declared through ``hc_register_settings`` and read by the core's one settings loader (the
``[plugins.http]`` table of ``HC_SETTINGS_FILE``, then the ``HC_HTTP_*`` variables below);
handed out checked as ``app.plugin_config("http")``. This module never reads the environment.
"""

from __future__ import annotations

from typing import Any

from hospital_complaints.plugin_api import PluginSettings
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

#: asymmetric JWS algorithms only: ``none`` and the HMAC family (a shared secret, or the
#: "public key as HMAC secret" confusion) are never accepted
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                         "ES256", "ES384", "ES512", "EdDSA")

SCOPES = ("cases:read", "cases:write", "intake", "identity:reveal", "attachments:read",
          "exports", "reports")

DEFAULT_HOSPITAL_WIDE = ("patient_relations", "complaint_officer", "discipline_inspection")


def _listed(value: Any) -> Any:
    """A comma-separated variable (``a,b``) as a list; lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class HttpSettings(BaseModel):
    """``[plugins.http]`` / ``HC_HTTP_*``: sign-in, limits, CORS and the public pages."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    #: the OpenID Connect issuer (``iss`` of accepted tokens); no issuer: bearer tokens off
    oidc_issuer: str | None = None
    #: the audience (``aud``) tokens must carry: this API's client id at the IdP
    oidc_audience: str | None = Field(default=None, validate_default=True)
    #: the IdP's JWKS; default: ``jwks_uri`` of ``<issuer>/.well-known/openid-configuration``
    oidc_jwks_url: str | None = None
    oidc_algorithms: tuple[str, ...] = ("RS256", "PS256", "ES256")
    #: seconds of clock difference tolerated on ``exp``, ``nbf`` and ``iat``
    oidc_clock_skew: int = Field(default=60, ge=0, le=600)
    #: claims (dotted paths such as ``realm_access.roles`` reach into objects)
    claim_user: str = "sub"
    claim_roles: str = "roles"
    claim_department: str = "department"
    #: the OAuth2 scope claim; scopes of this API found in it limit what a token may do,
    #: a token carrying none of them may do everything its roles allow
    claim_scope: str = "scope"
    #: roles that see every department's cases; everyone else sees their department's
    hospital_wide_roles: tuple[str, ...] = DEFAULT_HOSPITAL_WIDE
    #: origins of the HIS web front end allowed to call from a browser (CORS)
    cors_origins: tuple[str, ...] = ()
    #: the largest request body (JSON, forms); uploads may be as large as the attachment
    #: limit (``HC_ATTACHMENT_MAX_BYTES``) plus 64 KiB of multipart overhead
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    #: days a patient's status link stays valid
    status_token_days: int = Field(default=365, ge=1, le=3650)
    #: public requests (form posts, status look-ups) per client address and minute
    public_rate_per_minute: int = Field(default=20, ge=1, le=10_000)
    #: serve the public patient pages (``/public/...``)
    public_pages: bool = True
    #: a command must carry ``If-Match`` (otherwise it is optional)
    require_if_match: bool = False
    #: seconds the server waits for running requests when told to stop
    shutdown_timeout: int = Field(default=30, ge=0, le=600)
    #: proxies whose ``X-Forwarded-For`` is believed (uvicorn's ``forwarded_allow_ips``)
    forwarded_allow_ips: str = "127.0.0.1"

    @field_validator("oidc_algorithms", "hospital_wide_roles", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _listed(value)

    @field_validator("oidc_issuer", "oidc_audience", "oidc_jwks_url", mode="before")
    @classmethod
    def _empty(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in value if a not in ASYMMETRIC_ALGORITHMS]
        if bad or not value:
            raise ValueError(f"{', '.join(bad) or '(empty)'} not allowed; use one or more of "
                             f"{', '.join(ASYMMETRIC_ALGORITHMS)} (HMAC and none are refused)")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin == "*":
                raise ValueError("'*' is refused: name each origin of the HIS front end, "
                                 "e.g. https://his.hospital.local")
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                raise ValueError(f"{origin!r} is not an origin: scheme://host[:port], no path")
        return value

    @field_validator("oidc_audience")
    @classmethod
    def _audience_with_issuer(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("oidc_issuer") and not value:
            raise ValueError("required with an OIDC issuer: tokens are accepted only for this "
                             "API's audience (its client id at the identity provider)")
        return value

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None


#: the section's keys and the variables that set them
ENVIRONMENT = {
    "oidc_issuer": "HC_HTTP_OIDC_ISSUER",
    "oidc_audience": "HC_HTTP_OIDC_AUDIENCE",
    "oidc_jwks_url": "HC_HTTP_OIDC_JWKS_URL",
    "oidc_algorithms": "HC_HTTP_OIDC_ALGORITHMS",
    "oidc_clock_skew": "HC_HTTP_OIDC_CLOCK_SKEW",
    "claim_user": "HC_HTTP_CLAIM_USER",
    "claim_roles": "HC_HTTP_CLAIM_ROLES",
    "claim_department": "HC_HTTP_CLAIM_DEPARTMENT",
    "claim_scope": "HC_HTTP_CLAIM_SCOPE",
    "hospital_wide_roles": "HC_HTTP_HOSPITAL_WIDE_ROLES",
    "cors_origins": "HC_HTTP_CORS_ORIGINS",
    "max_request_bytes": "HC_HTTP_MAX_REQUEST_BYTES",
    "status_token_days": "HC_HTTP_STATUS_TOKEN_DAYS",
    "public_rate_per_minute": "HC_HTTP_PUBLIC_RATE",
    "public_pages": "HC_HTTP_PUBLIC_PAGES",
    "require_if_match": "HC_HTTP_REQUIRE_IF_MATCH",
    "shutdown_timeout": "HC_HTTP_SHUTDOWN_TIMEOUT",
    "forwarded_allow_ips": "HC_HTTP_FORWARDED_ALLOW_IPS",
}

DECLARATION = PluginSettings(id="http", model=HttpSettings, env=ENVIRONMENT,
                             description="HTTP service: SSO, API keys, CORS, limits, public "
                                         "pages")


def http_settings(app: Any) -> HttpSettings:
    """The section from the application (its defaults when the plugin is not registered)."""
    config = app.plugin_config("http")
    if isinstance(config, HttpSettings):
        return config
    return HttpSettings.model_validate(config or {})

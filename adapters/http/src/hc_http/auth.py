"""Who is calling, and what they may see.

Staff sign in at the hospital's integration platform and call with its OIDC bearer token;
systems call with an API key (``X-API-Key``). Either way the request acts as a
:class:`Viewer` (user, roles, department), and every rule is the core's or stated here once:

- **scopes** (API keys; and a token's ``scope`` claim when it names this API's scopes) say
  which kinds of operation a caller may use at all;
- **department scoping**: a viewer without a hospital-wide role sees only the cases of their
  department and its units. A case outside is answered exactly like a case that does not
  exist (404), so its existence does not leak. Such a viewer's department must be in the
  department registry (fail closed);
- **identity and attachments** are decided by the core's one access decision
  (``reveal_identity``, ``read_attachment``), which records every decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hospital_complaints.plugin_api import Case, NotFound, Viewer
from pydantic import ValidationError
from starlette.requests import Request

from .context import HttpContext
from .oidc import IdpUnavailable, TokenRejected, claim
from .problems import Problem
from .settings import SCOPES

_BEARER = re.compile(r"Bearer[ ]+([A-Za-z0-9._~+/=-]+)", re.IGNORECASE)
CHALLENGE = 'Bearer realm="hospital-complaints"'


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    kind: str  # "sso" or "api_key"
    viewer: Viewer
    scopes: frozenset[str]
    #: who events record as the actor: ``sso:<user>`` or ``apikey:<key name>``
    actor: str
    hospital_wide: bool
    #: the registry id of the viewer's department (``None``: unknown or not given)
    department_id: str | None
    #: what access logs may show: the kind, and an API key's id (never a person)
    log_label: str

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            has = ", ".join(sorted(self.scopes))
            raise Problem("forbidden", f"this caller lacks the scope {scope!r} (it has: "
                          f"{has or 'none'})",
                          f"调用方缺少权限范围 {scope!r}（已有：{has or '无'}）")

    def department_filter(self) -> str | None:
        """The department a listing is restricted to (``None``: every department)."""
        if self.hospital_wide:
            return None
        if self.department_id is None:
            shown = self.viewer.department or "(none given)"
            raise Problem(
                "forbidden",
                f"cases are shown to a caller with a hospital-wide role or a department of the "
                f"department registry; this caller's department {shown!r} is not in the "
                "registry (HC_DEPARTMENTS_FILE) and it has no hospital-wide role",
                f"仅向具有全院角色或所属科室在科室目录中的调用方显示案件；该调用方的科室 "
                f"{shown!r} 不在科室目录中，且没有全院角色")
        return self.department_id


def authenticate(ctx: HttpContext, request: Request) -> Principal:
    """The caller of ``request``, or a 401/503 problem."""
    key = request.headers.get("x-api-key")
    if key is not None:
        return _api_key_principal(ctx, key)
    header = request.headers.get("authorization")
    if header is None:
        raise _unauthorized("send an OIDC access token (Authorization: Bearer ...) or an API "
                            "key (X-API-Key: hck_...)",
                            "请提供 OIDC 访问令牌（Authorization: Bearer ...）或 API 密钥"
                            "（X-API-Key: hck_...）")
    match = _BEARER.fullmatch(header.strip())
    if match is None:
        raise _unauthorized("the Authorization header must be 'Bearer <token>'",
                            "Authorization 请求头须为 'Bearer <令牌>'", error="invalid_request")
    if ctx.verifier is None:
        raise _unauthorized("bearer tokens are not accepted: no identity provider is "
                            "configured (HC_HTTP_OIDC_ISSUER); use an API key",
                            "未配置身份提供方（HC_HTTP_OIDC_ISSUER），不接受 Bearer 令牌；"
                            "请使用 API 密钥")
    try:
        claims = ctx.verifier.verify(match.group(1))
    except TokenRejected as exc:
        raise _unauthorized(f"the bearer token is refused: {exc.reason}",
                            f"Bearer 令牌被拒绝：{exc.zh}", error="invalid_token") from None
    except IdpUnavailable:
        raise Problem("service-unavailable", "the identity provider's signing keys cannot be "
                      "fetched now; try again later",
                      "暂时无法获取身份提供方的签名密钥，请稍后重试",
                      headers={"Retry-After": "30"}) from None
    return _token_principal(ctx, claims)


def _token_principal(ctx: HttpContext, claims: dict[str, Any]) -> Principal:
    s = ctx.settings
    user = claim(claims, s.claim_user)
    if not isinstance(user, str) or not user.strip():
        raise _unauthorized(f"the token has no usable {s.claim_user!r} claim (the user; "
                            "HC_HTTP_CLAIM_USER)",
                            f"令牌缺少可用的 {s.claim_user!r} 声明（用户）", error="invalid_token")
    roles = _strings(claim(claims, s.claim_roles))
    department = claim(claims, s.claim_department)
    if isinstance(department, list):
        department = next((d for d in department if isinstance(d, str)), None)
    if not isinstance(department, str) or not department.strip():
        department = None
    try:
        viewer = Viewer(user=user, roles=frozenset(roles), department=department)
    except ValidationError:
        raise _unauthorized("the token's user, roles or department claim is too long or "
                            "empty (at most 200 characters each)",
                            "令牌中的用户、角色或科室声明为空或过长（每项至多 200 个字符）",
                            error="invalid_token") from None
    granted = frozenset(_strings(claim(claims, s.claim_scope))) & frozenset(SCOPES)
    return _principal(ctx, "sso", viewer, granted or frozenset(SCOPES), f"sso:{viewer.user}",
                      "sso")


def _api_key_principal(ctx: HttpContext, presented: str) -> Principal:
    record = ctx.api_keys.verify(presented)
    if record is None:
        raise _unauthorized("the API key is unknown, wrong or revoked",
                            "API 密钥无效、错误或已吊销", error="invalid_token")
    viewer = Viewer(user=f"apikey:{record.name}", roles=record.roles,
                    department=record.department)
    return _principal(ctx, "api_key", viewer, record.scopes, f"apikey:{record.name}",
                      f"api_key:{record.key_id}")


def _principal(ctx: HttpContext, kind: str, viewer: Viewer, scopes: frozenset[str],
               actor: str, label: str) -> Principal:
    wide = bool(viewer.roles & frozenset(ctx.settings.hospital_wide_roles))
    department_id = None if wide else ctx.app.complaints.access.viewer_department_id(viewer)
    return Principal(kind=kind, viewer=viewer, scopes=scopes, actor=actor, hospital_wide=wide,
                     department_id=department_id, log_label=label)


def _strings(value: Any) -> list[str]:
    """Roles or scopes as a list: a JSON list, or a space- or comma-separated string."""
    if isinstance(value, str):
        return [p for p in re.split(r"[\s,]+", value) if p]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return []


def _unauthorized(en: str, zh: str, *, error: str | None = None) -> Problem:
    challenge = CHALLENGE if error is None else f'{CHALLENGE}, error="{error}"'
    return Problem("unauthorized", en, zh, headers={"WWW-Authenticate": challenge})


# -- cases a caller may see -------------------------------------------------------------------


def unseen(reference: str) -> Problem:
    """The one answer for a case that does not exist or is outside the caller's scope."""
    shown = reference.strip().upper()[:64]
    return Problem("not-found", f"no complaint {shown} that this caller may see",
                   f"没有该调用方可查看的投诉 {shown}")


def visible(ctx: HttpContext, principal: Principal, case: Case) -> bool:
    if principal.hospital_wide:
        return True
    department_id = principal.department_filter()
    assert department_id is not None
    return ctx.app.departments.same_or_within(case.complaint.department, department_id)


def load_case(ctx: HttpContext, principal: Principal, reference: str) -> Case:
    """The case, if it exists and the caller may see it; else the same 404 either way."""
    principal.department_filter()  # a caller without a usable department sees nothing
    try:
        case = ctx.app.complaints.get(reference)
    except NotFound:
        raise unseen(reference) from None
    if not visible(ctx, principal, case):
        raise unseen(reference)
    return case

"""OIDC bearer tokens from a real issuer on loopback (npm oauth2-mock-server): its JWKS, real
RS256 signatures; expired, wrong-issuer, wrong-audience, wrong-key and ``alg: none`` tokens
are refused; claims map to the viewer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from hospital_complaints.testing import complaint_draft

pytestmark = pytest.mark.peer("oauth2-mock-server")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.fixture
def sso(core: Callable[..., Any], serve: Callable[..., Any], issuer: Any) -> Any:
    return serve(core(http=issuer.settings()))


def test_a_valid_token_acts_as_the_viewer_its_claims_name(sso: Any, issuer: Any) -> None:
    token = issuer.token({"sub": "wangmin", "roles": ["patient_relations"],
                          "department": "医患办"})
    me = sso.client.get("/v1/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json() == {"kind": "sso", "user": "wangmin", "roles": ["patient_relations"],
                         "department": "医患办", "department_id": None, "hospital_wide": True,
                         "scopes": sorted(me.json()["scopes"])}
    r = sso.client.post("/v1/cases", json=complaint_draft(), headers=bearer(token))
    assert r.status_code == 201
    history = sso.client.get(f"/v1/cases/{r.json()['case']['reference']}/history",
                             headers=bearer(token)).json()
    assert history["events"][0]["actor"] == "sso:wangmin"


@pytest.mark.parametrize("case", ["expired", "wrong_audience", "wrong_issuer", "wrong_key",
                                  "alg_none", "hmac_with_public_key", "no_exp", "tampered",
                                  "garbage"])
def test_bad_tokens_are_refused(sso: Any, issuer: Any, case: str) -> None:
    good = issuer.token()
    header, payload, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    if case == "expired":
        token = issuer.token(expires_in=-600)  # beyond the 60 s clock skew
    elif case == "wrong_audience":
        token = issuer.token({"aud": "another-app"})
    elif case == "wrong_issuer":
        token = issuer.token({"iss": "http://localhost:1/elsewhere"})
    elif case == "wrong_key":
        token = issuer.token(rogue=True)  # same kid, a key the JWKS does not publish
    elif case == "alg_none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'hc-test-key'})}.{payload}."
    elif case == "hmac_with_public_key":
        # the classic confusion: HMAC keyed with the published public key (PEM), by hand
        # (PyJWT itself refuses to sign so)
        from cryptography.hazmat.primitives import serialization

        jwk = httpx.get(issuer.jwks_url).json()["keys"][0]
        pem = jwt.PyJWK(jwk).key.public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'hc-test-key'})}.{payload}"
        mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
    elif case == "no_exp":
        token = issuer.token(remove=("exp",))
    elif case == "tampered":
        token = f"{header}.{_b64({**claims, 'roles': ['discipline_inspection']})}.{signature}"
    else:
        token = "not.a.jwt"
    r = sso.client.get("/v1/cases", headers={**bearer(token), "Accept-Language": "en"})
    assert r.status_code == 401, (case, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith('Bearer realm="hospital-complaints"')
    assert "refused" in r.json()["detail"] or "token" in r.json()["detail"]


def test_a_token_just_past_expiry_is_accepted_within_the_clock_skew(sso: Any,
                                                                    issuer: Any) -> None:
    token = issuer.token(expires_in=-20)
    assert sso.client.get("/v1/me", headers=bearer(token)).status_code == 200


def test_claim_names_are_configurable(core: Callable[..., Any], serve: Callable[..., Any],
                                      issuer: Any) -> None:
    served = serve(core(http=issuer.settings(
        claim_user="preferred_username", claim_roles="realm_access.roles",
        claim_department="dept", hospital_wide_roles="hc-admin")))
    token = issuer.token({"preferred_username": "li.qiang", "realm_access": {
        "roles": ["nurse"]}, "dept": "CT室"})
    me = served.client.get("/v1/me", headers=bearer(token)).json()
    assert (me["user"], me["roles"], me["department_id"], me["hospital_wide"]) == (
        "li.qiang", ["nurse"], "ct", False)
    no_user = issuer.token({"realm_access": {"roles": ["nurse"]}}, remove=("sub",))
    assert served.client.get("/v1/me", headers=bearer(no_user)).status_code == 401


def test_a_token_from_the_token_endpoint_and_keys_found_by_discovery(
        core: Callable[..., Any], serve: Callable[..., Any], issuer: Any) -> None:
    """No JWKS URL configured: it is found at the issuer's openid-configuration. The token
    comes from the issuer's /token endpoint (client credentials), as a system gets one."""
    settings = issuer.settings()
    del settings["oidc_jwks_url"]
    served = serve(core(http=settings))
    issuer.token_endpoint_claims({"aud": "hc-api", "sub": "his-gateway",
                                  "roles": ["complaint_officer"]})
    answer = httpx.post(f"http://127.0.0.1:{issuer.port}/token",
                        data={"grant_type": "client_credentials", "scope": "intake"},
                        auth=("his-gateway", "secret"))
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    created = served.client.post("/v1/cases", json=complaint_draft(), headers=bearer(token))
    assert created.status_code == 201, created.text
    # the token's scope claim names this API's scope "intake" only
    assert served.client.get("/v1/cases", headers=bearer(token)).status_code == 403


def test_an_unreachable_identity_provider_is_a_503(core: Callable[..., Any],
                                                   serve: Callable[..., Any],
                                                   issuer: Any) -> None:
    served = serve(core(http=issuer.settings(oidc_jwks_url="http://127.0.0.1:9/jwks")))
    r = served.client.get("/v1/cases", headers=bearer(issuer.token()))
    assert r.status_code == 503 and r.headers["retry-after"] == "30"


def test_bearer_tokens_without_a_configured_issuer_are_refused(service: Any,
                                                               issuer: Any) -> None:
    r = service.client.get("/v1/cases", headers={**bearer(issuer.token()),
                                                 "Accept-Language": "en"})
    assert r.status_code == 401 and "HC_HTTP_OIDC_ISSUER" in r.json()["detail"]

"""hospital-complaints-http: the library's network face.

A REST API any HIS can call (OpenAPI document, RFC 9457 errors in zh/en), OIDC single
sign-on and API keys acting as the core's ``Viewer``, department scoping, public pages for
patients (complaint form, "where is my complaint"), health and readiness endpoints.

``create_app(app)`` builds the ASGI application; ``hospital-complaints serve`` runs it under
uvicorn; ``hospital-complaints http keys ...`` manages API keys. See docs/http.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["__version__", "create_app"]


def create_app(app: Any, **kwargs: Any) -> FastAPI:
    """The ASGI application for ``app`` (see :func:`hc_http.asgi.create_app`)."""
    from .asgi import create_app as build

    return build(app, **kwargs)

"""What every request handler shares: the application, the adapter's settings, the token
verifier, API keys, status links and the public rate limiter. Built once per ASGI app."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from hospital_complaints.plugin_api import App

from .apikeys import ApiKeys
from .oidc import OidcVerifier
from .ratelimit import RateLimiter
from .settings import HttpSettings
from .tokens import StatusTokens

if TYPE_CHECKING:
    from .pages import Pages


class HttpContext:
    def __init__(self, app: App, settings: HttpSettings, *,
                 wall_clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.settings = settings
        self.wall_clock = wall_clock
        self.verifier = OidcVerifier(settings, wall_clock=wall_clock) \
            if settings.oidc_enabled else None
        self.limiter = RateLimiter(settings.public_rate_per_minute, per_seconds=60.0,
                                   clock=monotonic)
        #: the Alembic version rows found at start-up (``/readyz`` compares against them)
        self.migrations_at_start: frozenset[str] | None = None

    @cached_property
    def api_keys(self) -> ApiKeys:
        return ApiKeys(self.app.store)

    @cached_property
    def status_tokens(self) -> StatusTokens:
        return StatusTokens(self.app.store)

    @cached_property
    def pages(self) -> Pages:
        from .pages import Pages

        return Pages()

    @property
    def upload_limit(self) -> int:
        """The largest attachment upload body: the attachment limit plus multipart framing."""
        return int(self.app.settings.attachments.max_bytes) + 64 * 1024

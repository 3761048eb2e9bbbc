"""Bearer tokens from a command or a token endpoint, cached until shortly before they expire.

A failed fetch is logged as ``oauth_token_refresh_failed`` (never with a token or secret) and
raised as OAuthTokenError, whose message is safe to log too.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from helpdesk_ingest.oauth.settings import OAuthSettings


def _log() -> Any:
    # Fetched per event rather than once at import, so a logging set-up made later (or a test's
    # capture_logs) applies even after a cached logger has been used.
    return structlog.get_logger("helpdesk_ingest.oauth")


COMMAND_TIMEOUT_S = 60.0
ENDPOINT_TIMEOUT_S = 30.0
# Token JSON larger than this is not a token response.
MAX_RESPONSE_BYTES = 1 << 20


class OAuthTokenError(Exception):
    """No token could be had; the message names the source and the reason, never a secret."""


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    expires_at: float  # on the time.monotonic clock
    refresh_token: str | None = field(default=None, repr=False)


def _token_from_json(data: Any, now: float, default_lifetime_s: float) -> Token:
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise OAuthTokenError("the answer carries no access_token")
    lifetime = data.get("expires_in", default_lifetime_s)
    try:
        lifetime_s = float(lifetime)
    except (TypeError, ValueError):
        lifetime_s = default_lifetime_s
    rotated = data.get("refresh_token")
    return Token(
        data["access_token"], now + lifetime_s, rotated if isinstance(rotated, str) else None
    )


def fetch_from_command(
    argv: tuple[str, ...], lifetime_s: float, clock: Callable[[], float] = time.monotonic
) -> Token:
    """Run ``argv``; its stdout is the token itself, or token JSON as an endpoint returns it."""
    try:
        done = subprocess.run(  # noqa: S603 - the operator's own configured command
            argv, capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OAuthTokenError(
            f"token command {argv[0]!r} could not run: {type(exc).__name__}"
        ) from None
    if done.returncode != 0:
        raise OAuthTokenError(f"token command {argv[0]!r} exited with status {done.returncode}")
    output = done.stdout.decode("utf-8", errors="replace").strip()
    if output.startswith("{"):
        try:
            return _token_from_json(json.loads(output), clock(), lifetime_s)
        except ValueError:
            raise OAuthTokenError(f"token command {argv[0]!r} printed invalid JSON") from None
    if not output or any(char.isspace() for char in output):
        raise OAuthTokenError(f"token command {argv[0]!r} printed no single token")
    return Token(output, clock() + lifetime_s)


def _form(settings: OAuthSettings, refresh_token: str | None) -> dict[str, str]:
    form = {"grant_type": settings.grant, "client_id": settings.client_id or ""}
    if settings.client_secret is not None:
        form["client_secret"] = settings.client_secret.get_secret_value()
    if settings.grant == "refresh_token" and refresh_token is not None:
        form["refresh_token"] = refresh_token
    if settings.scope:
        form["scope"] = settings.scope
    return form


def _error_code(exc: urllib.error.HTTPError) -> str:
    # RFC 6749 section 5.2: the "error" member is a fixed code such as invalid_grant.
    try:
        code = json.loads(exc.read(4096)).get("error", "")
    except (ValueError, AttributeError, OSError):
        code = ""
    return f"HTTP {exc.code} {code}".strip()


def fetch_from_endpoint(
    settings: OAuthSettings,
    refresh_token: str | None,
    clock: Callable[[], float] = time.monotonic,
) -> Token:
    """POST the grant to the token endpoint (RFC 6749) and read the JSON answer."""
    assert settings.token_url is not None  # guaranteed by OAuthSettings
    context = ssl.create_default_context(
        cafile=str(settings.token_ca_file) if settings.token_ca_file else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    request = urllib.request.Request(  # noqa: S310 - https only, checked in OAuthSettings
        settings.token_url,
        data=urllib.parse.urlencode(_form(settings, refresh_token)).encode(),
        headers={"Accept": "application/json"},
        method="POST",
    )
    where = urllib.parse.urlsplit(settings.token_url).netloc
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=ENDPOINT_TIMEOUT_S, context=context
        ) as response:
            body = response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        raise OAuthTokenError(f"token endpoint {where} refused: {_error_code(exc)}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OAuthTokenError(f"token endpoint {where} unreachable: {reason}") from None
    try:
        return _token_from_json(json.loads(body), clock(), 3600.0)
    except ValueError:
        raise OAuthTokenError(f"token endpoint {where} answered with invalid JSON") from None


class CachedTokenSource:
    """Call it for a token; a new one is fetched only when the cached one nears its expiry."""

    def __init__(
        self,
        mailbox: str,
        source: str,
        fetch: Callable[[], Token],
        margin_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._mailbox = mailbox
        self._source = source
        self._fetch = fetch
        self._margin_s = margin_s
        self._clock = clock
        self._token: Token | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._token = self._refresh()
                lifetime = self._token.expires_at - self._clock()
                # A short-lived token is still reused for half its life, even under a wide margin.
                self._refresh_at = self._clock() + max(lifetime - self._margin_s, lifetime / 2)
            return self._token.value

    def _refresh(self) -> Token:
        try:
            token = self._fetch()
        except OAuthTokenError as exc:
            _log().error(
                "oauth_token_refresh_failed",
                mailbox=self._mailbox,
                source=self._source,
                error=str(exc),
            )
            raise
        _log().info(
            "oauth_token_refreshed",
            mailbox=self._mailbox,
            source=self._source,
            expires_in_s=round(token.expires_at - self._clock()),
        )
        return token


def token_source_for(mailbox: str, settings: OAuthSettings) -> CachedTokenSource:
    """The cached token source a mailbox's OAuth settings describe."""
    if settings.token_command is not None:
        argv = settings.token_command
        return CachedTokenSource(
            mailbox,
            "command",
            lambda: fetch_from_command(argv, settings.token_command_lifetime_s),
            settings.refresh_margin_s,
        )
    refresh = [settings.refresh_token.get_secret_value() if settings.refresh_token else None]

    def fetch() -> Token:
        token = fetch_from_endpoint(settings, refresh[0])
        if token.refresh_token:
            # Providers may rotate the refresh token; the new one replaces the old in memory.
            refresh[0] = token.refresh_token
        return token

    return CachedTokenSource(mailbox, settings.grant, fetch, settings.refresh_margin_s)

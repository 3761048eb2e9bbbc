"""Token sources: a command, a refresh token and client credentials at a local HTTPS endpoint."""

from __future__ import annotations

import json
import ssl
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
import trustme
from structlog.testing import capture_logs

from helpdesk_ingest.oauth.settings import OAuthSettings
from helpdesk_ingest.oauth.tokens import (
    CachedTokenSource,
    OAuthTokenError,
    Token,
    fetch_from_command,
    token_source_for,
)

REFRESH_TOKEN = "1//refresh-token-secret"
CLIENT_SECRET = "client-secret-value"


class TokenEndpoint(ThreadingHTTPServer):
    """Answers each POST with the next scripted (status, JSON) and keeps the forms it got."""

    def __init__(self, ca: trustme.CA) -> None:
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self.forms: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}/oauth2/token"


class _TokenHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        server = cast(TokenEndpoint, self.server)
        length = int(self.headers["Content-Length"])
        server.forms.append(dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())))
        status, answer = server.answers.pop(0)
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def endpoint(ca: trustme.CA) -> Iterator[TokenEndpoint]:
    server = TokenEndpoint(ca)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    thread.join()
    server.server_close()


def refresh_settings(endpoint: TokenEndpoint, ca_file: Path, **extra: Any) -> OAuthSettings:
    return OAuthSettings.model_validate(
        {
            "token_url": endpoint.url,
            "client_id": "helpdesk",
            "refresh_token": REFRESH_TOKEN,
            "scope": "https://mail.google.com/",
            "token_ca_file": ca_file,
            **extra,
        }
    )


def test_refresh_token_is_exchanged_and_the_token_cached(
    endpoint: TokenEndpoint, ca_file: Path
) -> None:
    endpoint.answers = [
        (200, {"access_token": "access-1", "expires_in": 3600, "refresh_token": "rotated"}),
        (200, {"access_token": "access-2", "expires_in": 3600}),
    ]
    source = token_source_for("support", refresh_settings(endpoint, ca_file))
    assert source() == "access-1"
    assert source() == "access-1"
    assert endpoint.forms == [
        {
            "grant_type": "refresh_token",
            "client_id": "helpdesk",
            "refresh_token": REFRESH_TOKEN,
            "scope": "https://mail.google.com/",
        }
    ]


def test_client_credentials_grant(endpoint: TokenEndpoint, ca_file: Path) -> None:
    endpoint.answers = [(200, {"access_token": "app-token", "expires_in": 3599})]
    settings = OAuthSettings.model_validate(
        {
            "token_url": endpoint.url,
            "grant": "client_credentials",
            "client_id": "app",
            "client_secret": CLIENT_SECRET,
            "scope": "https://outlook.office365.com/.default",
            "token_ca_file": ca_file,
        }
    )
    assert token_source_for("support", settings)() == "app-token"
    assert endpoint.forms[0]["grant_type"] == "client_credentials"
    assert endpoint.forms[0]["client_secret"] == CLIENT_SECRET


def test_a_refused_refresh_is_a_loud_distinct_event(endpoint: TokenEndpoint, ca_file: Path) -> None:
    endpoint.answers = [(400, {"error": "invalid_grant", "error_description": "expired"})]
    source = token_source_for("support", refresh_settings(endpoint, ca_file))
    with capture_logs() as logs, pytest.raises(OAuthTokenError, match="invalid_grant") as caught:
        source()
    assert [(e["event"], e["log_level"]) for e in logs] == [("oauth_token_refresh_failed", "error")]
    assert REFRESH_TOKEN not in str(caught.value) + str(logs)


def test_an_untrusted_token_endpoint_is_refused(endpoint: TokenEndpoint, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    source = token_source_for("support", refresh_settings(endpoint, stranger))
    with pytest.raises(OAuthTokenError, match="unreachable"):
        source()
    assert endpoint.forms == []


def test_token_url_must_be_https() -> None:
    with pytest.raises(ValueError, match="https"):
        OAuthSettings(
            token_url="http://login.example.com/token",
            client_id="x",
            refresh_token=REFRESH_TOKEN,
        )


def test_cache_refreshes_shortly_before_expiry() -> None:
    now = [1000.0]
    fetched: list[str] = []

    def fetch() -> Token:
        fetched.append(f"t{len(fetched) + 1}")
        return Token(fetched[-1], now[0] + 3600)

    source = CachedTokenSource("support", "test", fetch, margin_s=300, clock=lambda: now[0])
    assert source() == "t1"
    now[0] += 3299
    assert source() == "t1"
    now[0] += 2
    assert source() == "t2"


def test_command_token() -> None:
    settings = OAuthSettings(token_command=(sys.executable, "-c", "print('cmd-token')"))
    assert token_source_for("support", settings)() == "cmd-token"


def test_command_token_json_carries_its_expiry() -> None:
    script = "import json; print(json.dumps({'access_token': 'j', 'expires_in': 60}))"
    token = fetch_from_command((sys.executable, "-c", script), 300, clock=lambda: 1000.0)
    assert (token.value, token.expires_at) == ("j", 1060.0)


def test_a_failing_command_is_a_loud_distinct_event() -> None:
    settings = OAuthSettings(token_command=(sys.executable, "-c", "raise SystemExit(3)"))
    with capture_logs() as logs, pytest.raises(OAuthTokenError, match="status 3"):
        token_source_for("support", settings)()
    assert logs[0]["event"] == "oauth_token_refresh_failed"
    assert logs[0]["mailbox"] == "support"

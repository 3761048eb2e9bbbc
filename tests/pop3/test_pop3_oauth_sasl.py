"""XOAUTH2 and OAUTHBEARER against the development server, in both the one- and two-step form."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from helpdesk_ingest.devserver import DevPop3Server
from helpdesk_ingest.pop3 import Endpoint, Pop3AuthError, Pop3Session, TokenAuthenticator
from helpdesk_ingest.pop3.auth import TokenMechanism
from helpdesk_ingest.pop3.sasl import OAuthBearer, XOAuth2

StartServer = Callable[..., DevPop3Server]
EndpointOf = Callable[..., Endpoint]
TOKEN = "ya29.a0-test-token"
MECHANISMS: list[TokenMechanism] = ["xoauth2", "oauthbearer"]


def test_xoauth2_encoding() -> None:
    message = XOAuth2("support@example.com", "tok").initial_response()
    assert message == b"user=support@example.com\x01auth=Bearer tok\x01\x01"


def test_oauthbearer_encoding_escapes_the_gs2_name() -> None:
    message = OAuthBearer("a,b=c", "tok", "pop.example.com", 995).initial_response()
    assert message == (
        b"n,a=a=2Cb=3Dc,\x01host=pop.example.com\x01port=995\x01auth=Bearer tok\x01\x01"
    )


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("two_step", [False, True])
def test_token_login_drains_the_mailbox(
    start_server: StartServer,
    endpoint_of: EndpointOf,
    mechanism: TokenMechanism,
    two_step: bool,
) -> None:
    server = start_server(
        [b"Subject: a\r\n\r\none\r\n"],
        sasl_mechanisms=("XOAUTH2", "OAUTHBEARER"),
        oauth_token=TOKEN,
    )
    authenticator = TokenAuthenticator("support", lambda: TOKEN, mechanism, two_step)
    with Pop3Session.connect(endpoint_of(server)) as session:
        session.login(authenticator)
        assert session.mechanism == mechanism.upper()
        assert session.retr(1) == b"Subject: a\r\n\r\none\r\n"
        session.dele(1)
        session.quit()
    assert server.messages() == []
    form = "two-step" if two_step else "initial-response"
    assert server.auth_forms == [f"{mechanism.upper()} {form}"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_refused_token_is_an_auth_error_without_the_token(
    start_server: StartServer, endpoint_of: EndpointOf, mechanism: TokenMechanism
) -> None:
    server = start_server(sasl_mechanisms=("XOAUTH2", "OAUTHBEARER"), oauth_token=TOKEN)
    wrong = "wrong-token-value"
    with Pop3Session.connect(endpoint_of(server)) as session:
        with pytest.raises(Pop3AuthError) as caught:
            session.login(TokenAuthenticator("support", lambda: wrong, mechanism))
        text = str(caught.value) + repr(caught.value.response)
        assert wrong not in text
        assert base64.b64encode(wrong.encode()).decode()[:8] not in text
        # The session is still in step after the error report and its answer.
        session.login(TokenAuthenticator("support", lambda: TOKEN, mechanism))


def test_a_token_source_failure_is_an_auth_error(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server(sasl_mechanisms=("XOAUTH2",), oauth_token=TOKEN)

    def failing() -> str:
        raise RuntimeError("token endpoint unreachable")

    with (
        Pop3Session.connect(endpoint_of(server)) as session,
        pytest.raises(Pop3AuthError, match=r"no OAuth2 token.*unreachable"),
    ):
        session.login(TokenAuthenticator("support", failing))
    assert "AUTH" not in server.commands_seen

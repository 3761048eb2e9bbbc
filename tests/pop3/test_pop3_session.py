"""The POP3 client against the development server: TLS, the RFC 1939 commands and their errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trustme

from helpdesk_ingest.devserver import DevPop3Server, Faults
from helpdesk_ingest.pop3 import (
    Endpoint,
    Pop3AuthError,
    Pop3ConnectionError,
    Pop3InUseError,
    Pop3LoginDelayError,
    Pop3ProtocolError,
    Pop3ServerError,
    Pop3Session,
    Pop3TlsError,
    UserPassAuthenticator,
)

StartServer = Callable[..., DevPop3Server]
EndpointOf = Callable[..., Endpoint]
LoggedIn = Callable[..., Pop3Session]


def mail(number: int, body: str = "The printer is on fire.") -> bytes:
    return (
        f"From: customer{number}@example.org\r\nSubject: Help {number}\r\n"
        f"Message-ID: <m{number}@example.org>\r\n\r\n{body}\r\n"
    ).encode()


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_login_over_tls_then_read_the_maildrop(
    start_server: StartServer, logged_in: LoggedIn, security: str
) -> None:
    messages = [mail(1), mail(2), mail(3)]
    server = start_server(messages, security=security)

    with logged_in(server) as session:
        assert session.is_tls
        assert session.tls_version in {"TLSv1.2", "TLSv1.3"}
        assert session.cipher
        assert session.peer_certificate is not None
        assert "UIDL" in session.capabilities
        # STLS is offered before TLS only (RFC 2595), so the CAPA read after it must not list it.
        assert "STLS" not in session.capabilities
        assert session.stat() == (3, sum(len(m) for m in messages))
        assert session.list() == [(n, len(m)) for n, m in enumerate(messages, 1)]
        uids = session.uidl()
        assert uids is not None
        assert sorted(uids) == [1, 2, 3]
        assert len(set(uids.values())) == 3
        assert [session.retr(n) for n in (1, 2, 3)] == messages
        session.quit()


def test_deletes_take_effect_only_at_quit(start_server: StartServer, logged_in: LoggedIn) -> None:
    server = start_server([mail(1), mail(2), mail(3)])

    with logged_in(server) as session:
        session.dele(1)
        session.dele(3)
        assert session.stat()[0] == 1
        assert len(server.messages()) == 3
        session.quit()

    assert server.messages() == [mail(2)]


def test_close_without_quit_deletes_nothing(start_server: StartServer, logged_in: LoggedIn) -> None:
    server = start_server([mail(1), mail(2)])

    session = logged_in(server)
    session.dele(1)
    session.dele(2)
    session.close()

    with logged_in(server) as again:
        assert again.stat()[0] == 2
        again.quit()
    assert server.messages() == [mail(1), mail(2)]


def test_context_exit_sends_quit_once(start_server: StartServer, logged_in: LoggedIn) -> None:
    server = start_server([mail(1), mail(2)])

    with logged_in(server) as session:
        session.dele(2)

    assert server.messages() == [mail(1)]
    assert server.commands_seen.count("QUIT") == 1


def test_rset_unmarks(start_server: StartServer, logged_in: LoggedIn) -> None:
    server = start_server([mail(1)])

    with logged_in(server) as session:
        session.dele(1)
        session.rset()
        session.noop()
        session.quit()

    assert server.messages() == [mail(1)]


def test_lines_starting_with_a_dot_round_trip_byte_exact(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    raw = (
        b".Subject-less first line that starts with a dot\r\n"
        b"From: dots@example.org\r\n\r\n"
        b".\r\n..\r\n...three\r\n. \r\nmid.dle\r\n.\r\n"
    )
    server = start_server([raw, mail(2)])

    with logged_in(server) as session:
        assert session.retr(1) == raw
        assert session.retr(2) == mail(2)
        session.quit()


def test_a_large_message_arrives_whole(start_server: StartServer, logged_in: LoggedIn) -> None:
    body = "".join(f"line {n:06d} {'x' * 60}\r\n" for n in range(40_000))
    raw = mail(1, body)
    server = start_server([raw])

    with logged_in(server) as session:
        assert session.retr(1) == raw
        session.quit()


def test_top_gives_headers_and_the_first_lines(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    raw = b"Subject: top\r\nFrom: a@example.org\r\n\r\none\r\n.two\r\nthree\r\n"
    server = start_server([raw])

    with logged_in(server) as session:
        assert session.top(1, 2) == b"Subject: top\r\nFrom: a@example.org\r\n\r\none\r\n.two\r\n"
        assert session.top(1, 0) == b"Subject: top\r\nFrom: a@example.org\r\n\r\n"
        session.quit()


def test_unknown_ca_is_refused(start_server: StartServer, endpoint_of: EndpointOf) -> None:
    server = start_server(ca=trustme.CA())
    other_ca = start_server()

    with pytest.raises(Pop3TlsError, match="certificate") as caught:
        Pop3Session.connect(endpoint_of(server, ca_file=other_ca.ca_pem_path))
    assert f"{server.host}:{server.port}" in str(caught.value)


def test_wrong_host_name_is_refused(start_server: StartServer, endpoint_of: EndpointOf) -> None:
    # The certificate names 127.0.0.1 only; "localhost" reaches the same socket.
    server = start_server()

    with pytest.raises(Pop3TlsError, match="certificate"):
        Pop3Session.connect(endpoint_of(server, host="localhost"))


def test_wrong_host_name_is_refused_after_stls(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server(security="starttls")

    with pytest.raises(Pop3TlsError, match="certificate"):
        Pop3Session.connect(endpoint_of(server, host="localhost"))
    assert "USER" not in server.commands_seen


def test_server_without_stls_is_refused_before_any_credentials(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server(security="starttls", faults=Faults(no_stls=True))

    with pytest.raises(Pop3TlsError, match="STLS"):
        Pop3Session.connect(endpoint_of(server))

    assert server.commands_seen == ["CAPA"]


def test_implicit_tls_against_a_plain_text_port_fails_cleanly(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server(security="starttls")

    with pytest.raises(Pop3TlsError):
        Pop3Session.connect(endpoint_of(server, security="tls"))


def test_maildrop_in_use_by_another_session(start_server: StartServer, logged_in: LoggedIn) -> None:
    server = start_server([mail(1)])

    with logged_in(server) as first:
        with pytest.raises(Pop3InUseError) as caught:
            logged_in(server)
        assert caught.value.resp_code == "IN-USE"
        first.quit()


def test_in_use_fault_is_reported_as_in_use(start_server: StartServer, logged_in: LoggedIn) -> None:
    server = start_server(faults=Faults(in_use=True))

    with pytest.raises(Pop3InUseError):
        logged_in(server)


def test_login_delay_is_not_a_credential_problem(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server(faults=Faults(login_delay=True))

    with pytest.raises(Pop3ServerError) as caught:
        logged_in(server)
    assert caught.value.resp_code == "LOGIN-DELAY"
    assert not isinstance(caught.value, Pop3AuthError)


@pytest.mark.parametrize("announced", [900, None])
def test_a_login_delay_refusal_carries_the_delay_the_server_announced(
    start_server: StartServer, logged_in: LoggedIn, announced: int | None
) -> None:
    server = start_server(faults=Faults(login_delay=True, announced_login_delay_s=announced))

    with pytest.raises(Pop3LoginDelayError) as caught:
        logged_in(server)
    assert caught.value.announced_delay_s == announced


def test_wrong_password_never_shows_the_password(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server()
    password = "s3cr3t-pa55word-never-logged"
    authenticator = UserPassAuthenticator(username="support", password=password)

    with (
        Pop3Session.connect(endpoint_of(server)) as session,
        pytest.raises(Pop3AuthError) as caught,
    ):
        session.login(authenticator)

    error = caught.value
    assert error.resp_code == "AUTH"
    for text in (str(error), repr(error), str(error.response), repr(authenticator)):
        assert password not in text
    assert "support" in repr(authenticator)


def test_a_secret_command_with_a_line_break_does_not_echo_it(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server()

    with (
        Pop3Session.connect(endpoint_of(server)) as session,
        pytest.raises(ValueError, match="PASS") as caught,
    ):
        session.command("PASS hidden\r\nDELE 1", secret=True)
    assert "hidden" not in str(caught.value)


def test_no_capa_means_no_capabilities_but_a_working_session(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server([mail(1)], faults=Faults(no_capa=True))

    with logged_in(server) as session:
        assert session.capabilities == {}
        assert session.uidl() == {1: "dev-00000001"}
        assert session.retr(1) == mail(1)
        session.quit()


def test_no_uidl_gives_none(start_server: StartServer, logged_in: LoggedIn) -> None:
    server = start_server([mail(1)], faults=Faults(no_uidl=True))

    with logged_in(server) as session:
        assert "UIDL" not in session.capabilities
        assert session.uidl() is None
        session.quit()


def test_no_uidl_without_capa_gives_none(start_server: StartServer, logged_in: LoggedIn) -> None:
    server = start_server([mail(1)], faults=Faults(no_uidl=True, no_capa=True))

    with logged_in(server) as session:
        assert session.uidl() is None
        # The -ERR left the stream in step: the next command works.
        assert session.stat() == (1, len(mail(1)))
        session.quit()


def test_err_on_dele_keeps_the_session_usable(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server([mail(1), mail(2)], faults=Faults(err_on_dele={1}))

    with logged_in(server) as session:
        with pytest.raises(Pop3ServerError) as caught:
            session.dele(1)
        assert caught.value.resp_code == "SYS/TEMP"
        session.dele(2)
        session.quit()

    assert server.messages() == [mail(1)]


def test_drop_after_retr_is_a_connection_error_and_deletes_nothing(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server([mail(1), mail(2)], faults=Faults(drop_after_retr={2}))

    with logged_in(server) as session:
        session.dele(1)
        assert session.retr(2) == mail(2)
        with pytest.raises(Pop3ConnectionError, match="closed"):
            session.dele(2)
        # Once the stream is broken, nothing more is sent on it.
        with pytest.raises(Pop3ConnectionError, match="no longer usable"):
            session.noop()

    assert server.messages() == [mail(1), mail(2)]


def test_stalled_retr_times_out_naming_the_server(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server([mail(1)], faults=Faults(stall_on_retr={1}))

    with (
        logged_in(server, read_timeout_s=0.3) as session,
        pytest.raises(Pop3ConnectionError) as caught,
    ):
        session.retr(1)

    assert f"{server.host}:{server.port}" in str(caught.value)
    assert "0.3 s" in str(caught.value)
    assert server.messages() == [mail(1)]


def test_garbage_greeting_is_a_protocol_error(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server(faults=Faults(garbage_greeting=True))

    with pytest.raises(Pop3ProtocolError, match="greet"):
        Pop3Session.connect(endpoint_of(server))


def test_connection_refused_names_the_endpoint(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server()
    endpoint = endpoint_of(server, ca_file=None)
    server.stop()

    with pytest.raises(Pop3ConnectionError, match=f"{endpoint.host}:{endpoint.port}"):
        Pop3Session.connect(endpoint)


def test_unreadable_ca_file_is_a_tls_error(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server()

    with pytest.raises(Pop3TlsError, match="CA file"):
        Pop3Session.connect(endpoint_of(server, ca_file="/nonexistent/ca.pem"))


def test_exit_after_the_server_went_away_does_not_raise(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server([mail(1)])

    with logged_in(server) as session:
        session.dele(1)
        server.stop()

    assert server.messages() == [mail(1)]


def test_pipelined_retrieval_returns_every_message_in_order(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    messages = [mail(n, body=f".dotted line\r\nbody {n}") for n in range(1, 21)]
    server = start_server(messages)

    with logged_in(server) as session:
        assert session.pipelining
        retrieved = session.retr_many(range(1, 21))
        assert retrieved.bodies == dict(enumerate(messages, start=1))
        assert retrieved.refused == {}
        assert session.dele_many(range(1, 21)) == {}
        session.quit()

    assert server.messages() == []


def test_a_refused_retrieval_in_a_pipeline_leaves_the_session_in_step(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server([mail(1), mail(2)])

    with logged_in(server) as session:
        retrieved = session.retr_many([1, 99, 2])
        assert retrieved.bodies == {1: mail(1), 2: mail(2)}
        assert list(retrieved.refused) == [99]
        assert isinstance(retrieved.refused[99], Pop3ServerError)
        # Every answer was read: the next command gets its own answer, not a stale one.
        assert session.retr(2) == mail(2)
        assert session.stat() == (2, len(mail(1)) + len(mail(2)))
        session.quit()


def test_pipelined_deletes_report_each_refusal(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server([mail(1), mail(2), mail(3)], faults=Faults(err_on_dele={2}))

    with logged_in(server) as session:
        refused = session.dele_many([1, 2, 3])
        assert list(refused) == [2]
        assert refused[2].resp_code == "SYS/TEMP"
        session.quit()

    assert server.messages() == [mail(2)]


def test_without_pipelining_commands_go_one_at_a_time(
    start_server: StartServer, logged_in: LoggedIn
) -> None:
    server = start_server([mail(1), mail(2)], faults=Faults(no_capa=True))

    with logged_in(server) as session:
        assert not session.pipelining
        assert session.retr_many([1, 2]).bodies == {1: mail(1), 2: mail(2)}
        retrieved = session.retr_many([1, 99, 2])
        assert (retrieved.bodies, list(retrieved.refused)) == ({1: mail(1), 2: mail(2)}, [99])
        assert session.dele_many([1, 2]) == {}
        session.quit()

    assert server.messages() == []

"""The Dovecot fixture behaves like a real mail server, checked with the stdlib POP3 client."""

from __future__ import annotations

import poplib
import socket
import ssl

import pytest
import trustme

from tests.support.dovecot import DovecotServer, MailboxAccount

MESSAGE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Byte for byte\r\n"
    b"\r\n"
    b"First line.\r\n"
    b".A line starting with a dot survives dot-stuffing.\r\n"
    b"Non-ASCII: \xc3\xa4\xc3\xb6\xc3\xbc\r\n"
)


def trusting(server: DovecotServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_file))


def login_pop3s(server: DovecotServer, account: MailboxAccount) -> poplib.POP3_SSL:
    client = poplib.POP3_SSL(server.host, server.pop3s_port, context=trusting(server), timeout=10)
    client.user(account.username)
    client.pass_(account.password)
    return client


def joined(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


def test_pop3s_serves_a_delivered_message_byte_exact_and_dele_removes_it(
    dovecot: DovecotServer,
) -> None:
    account = dovecot.new_mailbox()
    dovecot.deliver(account, MESSAGE)
    assert dovecot.count(account) == 1

    client = login_pop3s(dovecot, account)
    assert client.stat() == (1, len(MESSAGE))
    _, lines, _ = client.retr(1)
    assert joined(lines) == MESSAGE
    client.dele(1)
    client.quit()

    assert dovecot.count(account) == 0


def test_messages_are_served_in_delivery_order_and_kept_without_dele(
    dovecot: DovecotServer,
) -> None:
    account = dovecot.new_mailbox()
    bodies = [f"Subject: number {n}\r\n\r\nbody {n}\r\n".encode() for n in range(3)]
    for body in bodies:
        dovecot.deliver(account, body)

    client = login_pop3s(dovecot, account)
    served = [joined(client.retr(n)[1]) for n in (1, 2, 3)]
    client.quit()

    assert served == bodies
    # Read but not deleted: Dovecot moves them to cur/, and count() still sees them.
    assert dovecot.count(account) == 3


def test_each_mailbox_is_separate_and_new_users_can_log_in(dovecot: DovecotServer) -> None:
    first = dovecot.new_mailbox()
    dovecot.deliver(first, MESSAGE)
    login_pop3s(dovecot, first).quit()
    # Created after the server has already read the passdb.
    second = dovecot.new_mailbox()

    client = login_pop3s(dovecot, second)
    assert client.stat() == (0, 0)
    client.quit()
    assert (dovecot.count(first), dovecot.count(second)) == (1, 0)


def test_wrong_password_is_refused(dovecot: DovecotServer) -> None:
    account = dovecot.new_mailbox()
    client = poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, context=trusting(dovecot))
    client.user(account.username)
    with pytest.raises(poplib.error_proto, match="ERR"):
        client.pass_(account.password + "x")
    client.close()


def test_apop_works_with_plain_text_passwords(dovecot: DovecotServer) -> None:
    account = dovecot.new_mailbox()
    client = poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, context=trusting(dovecot))
    assert client.apop(account.username, account.password).startswith(b"+OK")
    client.quit()


def test_stls_port_upgrades_and_logs_in(dovecot: DovecotServer) -> None:
    account = dovecot.new_mailbox()
    dovecot.deliver(account, MESSAGE)
    client = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=10)
    assert "STLS" in client.capa()

    client.stls(context=trusting(dovecot))
    client.user(account.username)
    client.pass_(account.password)
    assert joined(client.retr(1)[1]) == MESSAGE
    client.quit()


class LineClient:
    """Just enough POP3 over a raw socket to bind a chosen source address."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.greeting = self.reader.readline()

    def command(self, line: str) -> bytes:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reader.readline()

    def upgrade(self, context: ssl.SSLContext, server_hostname: str) -> None:
        self.reader.close()
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def test_stls_port_refuses_credentials_before_tls_from_another_address(
    dovecot: DovecotServer,
) -> None:
    # Dovecot trusts 127.0.0.1 -> 127.0.0.1 as secure, so the client comes from 127.0.0.2.
    account = dovecot.new_mailbox()
    sock = socket.create_connection(
        (dovecot.host, dovecot.pop3_port), timeout=10, source_address=("127.0.0.2", 0)
    )
    client = LineClient(sock)
    try:
        assert client.greeting.startswith(b"+OK")
        refusal = client.command(f"USER {account.username}")
        assert refusal.startswith(b"-ERR [AUTH] Plaintext authentication disallowed")

        assert client.command("STLS").startswith(b"+OK")
        client.upgrade(trusting(dovecot), dovecot.host)
        assert client.command(f"USER {account.username}").startswith(b"+OK")
        assert client.command(f"PASS {account.password}").startswith(b"+OK")
        assert client.command("QUIT").startswith(b"+OK")
    finally:
        client.close()


def test_wrong_name_listener_fails_host_name_verification(dovecot: DovecotServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        poplib.POP3_SSL(
            dovecot.wrong_name_host, dovecot.wrong_name_port, context=trusting(dovecot), timeout=10
        )


def test_wrong_name_certificate_is_valid_for_its_own_name(dovecot: DovecotServer) -> None:
    # The chain is trusted; only the name differs, so the test above fails for that reason alone.
    sock = socket.create_connection((dovecot.wrong_name_host, dovecot.wrong_name_port), timeout=10)
    with trusting(dovecot).wrap_socket(sock, server_hostname=dovecot.wrong_name) as tls:
        assert tls.version() in {"TLSv1.2", "TLSv1.3"}
        assert tls.recv(3) == b"+OK"


def test_untrusted_ca_is_refused(dovecot: DovecotServer) -> None:
    context = ssl.create_default_context()
    trustme.CA().configure_trust(context)
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, context=context, timeout=10)

"""One client connection to the development server: the POP3 states of RFC 1939."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from helpdesk_ingest.devserver import sasl
from helpdesk_ingest.devserver.faults import Faults
from helpdesk_ingest.devserver.maildrop import Maildrop, StoredMessage, stuffed, with_crlf

MAX_COMMAND_BYTES = 512
HANDSHAKE_TIMEOUT_S = 10.0


@dataclass
class ServerSetup:
    """What every conversation of one server shares."""

    maildrop: Maildrop
    username: str
    password: str
    security: str
    tls_context: ssl.SSLContext
    faults: Faults
    stopping: threading.Event
    commands_seen: list[str] = field(default_factory=list)
    # SASL mechanisms offered; XOAUTH2 and OAUTHBEARER need ``oauth_token``.
    sasl_mechanisms: tuple[str, ...] = ("PLAIN",)
    oauth_token: str | None = None
    # How each AUTH arrived: "PLAIN initial-response", "XOAUTH2 two-step" (never the data).
    auth_forms: list[str] = field(default_factory=list)


class _Hangup(Exception):
    """End the connection now, without the UPDATE state."""


class Conversation:
    def __init__(self, setup: ServerSetup, sock: socket.socket) -> None:
        self.setup = setup
        self.sock = sock
        self._rfile = sock.makefile("rb")
        self._user: str | None = None
        self._session: list[StoredMessage] | None = None
        self._marked: set[int] = set()
        # Set before QUIT is answered: from then on the client may open its next session, while
        # this thread still closes the socket.
        self.quit_answered = False

    def abort(self) -> None:
        """Called from another thread when the server stops: unblock any read."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def run(self) -> None:
        try:
            if self.setup.security == "tls":
                self._start_tls()
            self._greet()
            while self._serve_one():
                pass
        except (_Hangup, OSError):
            pass
        finally:
            if self._session is not None:
                # A session that did not QUIT deletes nothing.
                self.setup.maildrop.unlock()
            self._rfile.close()
            self.sock.close()

    # -- plumbing -------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _ok(self, text: str = "") -> None:
        self._send(f"+OK {text}".rstrip().encode() + b"\r\n")

    def _err(self, text: str) -> None:
        self._send(f"-ERR {text}".encode() + b"\r\n")

    def _start_tls(self) -> None:
        self._rfile.close()
        self.sock.settimeout(HANDSHAKE_TIMEOUT_S)
        self.sock = self.setup.tls_context.wrap_socket(self.sock, server_side=True)
        self.sock.settimeout(None)
        self._rfile = self.sock.makefile("rb")

    def _greet(self) -> None:
        if self.setup.faults.garbage_greeting:
            self._send(b"\x00\xffHELLO? this is not POP3\r\n")
        elif self.setup.faults.overlong_greeting:
            self._send(b"+OK " + b"x" * 100_000 + b"\r\n")
        else:
            self._ok("helpdesk-ingest development POP3 server ready")

    def _serve_one(self) -> bool:
        line = self._rfile.readline(MAX_COMMAND_BYTES + 1)
        if not line:
            return False
        if len(line) > MAX_COMMAND_BYTES:
            self._err("command line too long")
            return False
        words = line.decode("utf-8", errors="replace").strip().split()
        if not words:
            self._err("empty command")
            return True
        verb, args = words[0].upper(), words[1:]
        self.setup.commands_seen.append(verb)
        handler = self._handlers().get(verb)
        if handler is None:
            self._err(f"unknown command {verb[:20]}")
            return True
        return handler(args) is not False

    def _handlers(self) -> dict[str, Callable[[list[str]], bool | None]]:
        if self._session is None:
            return {
                "CAPA": self._capa,
                "STLS": self._stls,
                "USER": self._user_cmd,
                "PASS": self._pass_cmd,
                "AUTH": self._auth,
                "QUIT": self._quit,
            }
        return {
            "CAPA": self._capa,
            "STAT": self._stat,
            "LIST": self._list,
            "UIDL": self._uidl,
            "RETR": self._retr,
            "TOP": self._top,
            "DELE": self._dele,
            "RSET": self._rset,
            "NOOP": self._noop,
            "QUIT": self._quit,
        }

    def _message(self, args: list[str]) -> tuple[int, StoredMessage] | None:
        assert self._session is not None
        if not args or not args[0].isdigit():
            self._err("a message number is required")
            return None
        number = int(args[0])
        if not 1 <= number <= len(self._session) or number in self._marked:
            self._err(f"no such message {number}")
            return None
        return number, self._session[number - 1]

    # -- AUTHORIZATION state --------------------------------------------------------------------

    def _capa(self, args: list[str]) -> None:
        faults = self.setup.faults
        if faults.no_capa:
            self._err("unknown command CAPA")
            return
        names = ["TOP", "USER", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.setup.sasl_mechanisms:
            names.append("SASL " + " ".join(self.setup.sasl_mechanisms))
        if not faults.no_uidl:
            names.append("UIDL")
        if faults.announced_login_delay_s is not None:
            names.append(f"LOGIN-DELAY {faults.announced_login_delay_s}")
        tls_pending = self.setup.security == "starttls" and not isinstance(self.sock, ssl.SSLSocket)
        if tls_pending and not faults.no_stls and self._session is None:
            names.append("STLS")
        self._ok("capability list follows")
        self._send("".join(f"{name}\r\n" for name in names).encode() + b".\r\n")

    def _stls(self, args: list[str]) -> None:
        if (
            self.setup.security != "starttls"
            or self.setup.faults.no_stls
            or isinstance(self.sock, ssl.SSLSocket)
        ):
            self._err("STLS not available")
            return
        self._ok("begin TLS negotiation")
        self._start_tls()

    def _user_cmd(self, args: list[str]) -> None:
        self._user = args[0] if args else ""
        self._ok("send PASS")

    def _pass_cmd(self, args: list[str]) -> None:
        given = " ".join(args)
        if self._user is None:
            self._err("USER first")
        elif self._user != self.setup.username or given != self.setup.password:
            self._user = None
            self._err("[AUTH] invalid user name or password")
        else:
            self._open_maildrop()

    def _auth(self, args: list[str]) -> None:
        mechanism = args[0].upper() if args else ""
        if mechanism not in self.setup.sasl_mechanisms:
            self._err("unsupported authentication mechanism")
            return
        form = "initial-response" if len(args) > 1 else "two-step"
        self.setup.auth_forms.append(f"{mechanism} {form}")
        if len(args) > 1:
            response = args[1]
        else:
            self._send(b"+ \r\n")
            response = self._read_line()
        if response == "*":
            self._err("authentication cancelled")
            return
        data = sasl.decode(response)
        if data is not None and self._sasl_ok(mechanism, data):
            self._open_maildrop()
            return
        if mechanism != "PLAIN":
            # RFC 7628: report the failure in a challenge, wait for the client's answer.
            self._send(b"+ " + sasl.failure_challenge() + b"\r\n")
            self._read_line()
        self._err("[AUTH] authentication failed")

    def _sasl_ok(self, mechanism: str, data: bytes) -> bool:
        setup = self.setup
        if mechanism == "PLAIN":
            return sasl.plain_ok(data, setup.username, setup.password)
        if setup.oauth_token is None:
            return False
        if mechanism == "XOAUTH2":
            return sasl.xoauth2_ok(data, setup.username, setup.oauth_token)
        return sasl.oauthbearer_ok(data, setup.username, setup.oauth_token)

    def _read_line(self) -> str:
        line = self._rfile.readline(MAX_COMMAND_BYTES * 8 + 1)
        if not line:
            raise _Hangup
        return line.decode("utf-8", errors="replace").strip()

    def _open_maildrop(self) -> None:
        faults = self.setup.faults
        if faults.login_delay:
            self._err("[LOGIN-DELAY] logging in too often")
        elif faults.in_use or (session := self.setup.maildrop.lock()) is None:
            self._err("[IN-USE] maildrop is locked by another session")
        else:
            self._session = session
            self._ok(f"maildrop has {len(session)} messages")

    # -- TRANSACTION state ----------------------------------------------------------------------

    def _live(self) -> list[tuple[int, StoredMessage]]:
        assert self._session is not None
        return [(n, m) for n, m in enumerate(self._session, 1) if n not in self._marked]

    def _stat(self, args: list[str]) -> None:
        live = self._live()
        self._ok(f"{len(live)} {sum(message.octets for _, message in live)}")

    def _list(self, args: list[str]) -> None:
        self._listing(args, lambda n, message: f"{n} {message.octets}")

    def _uidl(self, args: list[str]) -> None:
        if self.setup.faults.no_uidl:
            self._err("unknown command UIDL")
            return
        self._listing(args, lambda n, message: f"{n} {message.uid}")

    def _listing(self, args: list[str], line: Callable[[int, StoredMessage], str]) -> None:
        if args:
            found = self._message(args)
            if found:
                self._ok(line(*found))
            return
        self._ok("listing follows")
        self._send("".join(f"{line(n, m)}\r\n" for n, m in self._live()).encode() + b".\r\n")

    def _retr(self, args: list[str]) -> None:
        found = self._message(args)
        if found is None:
            return
        number, message = found
        faults = self.setup.faults
        if number in faults.stall_on_retr:
            self._stall_until_client_leaves()
            raise _Hangup
        self._ok(f"{message.octets} octets")
        self._send(stuffed(message.raw))
        if number in faults.drop_after_retr:
            raise _Hangup

    def _stall_until_client_leaves(self) -> None:
        # Like a hung server, answer nothing; but notice the client giving up (its socket becomes
        # readable at EOF), so the maildrop lock is released as a real server's would be.
        while not self.setup.stopping.wait(0.05):
            readable, _, _ = select.select([self.sock], [], [], 0)
            if readable:
                return

    def _top(self, args: list[str]) -> None:
        found = self._message(args)
        if found is None or len(args) < 2 or not args[1].isdigit():
            if found is not None:
                self._err("TOP needs a message number and a line count")
            return
        head, separator, body = with_crlf(found[1].raw).partition(b"\r\n\r\n")
        kept = b"".join(body.splitlines(keepends=True)[: int(args[1])])
        self._ok("top of message follows")
        self._send(stuffed(head + separator + kept))

    def _dele(self, args: list[str]) -> None:
        found = self._message(args)
        if found is None:
            return
        number = found[0]
        if number in self.setup.faults.err_on_dele:
            self._err(f"[SYS/TEMP] cannot delete message {number} now")
            return
        self._marked.add(number)
        self._ok(f"message {number} deleted")

    def _rset(self, args: list[str]) -> None:
        self._marked.clear()
        self._ok("maildrop restored")

    def _noop(self, args: list[str]) -> None:
        self._ok()

    def _quit(self, args: list[str]) -> bool:
        if self._session is not None:
            # The UPDATE state: only now do marked messages leave the maildrop.
            uids = [self._session[n - 1].uid for n in self._marked]
            self._session = None
            self.setup.maildrop.unlock(uids)
        self.quit_answered = True
        self._ok("bye")
        return False

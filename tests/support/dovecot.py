"""A private Dovecot POP3 server for tests: own config, certificates, users and Maildirs."""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import trustme

DOVECOT_BINARY = Path("/usr/sbin/dovecot")
INSTALL_HINT = "install it with: apt-get install dovecot-pop3d (see .ci/run)"
HOST = "127.0.0.1"
# A second loopback address, so one listener can present a certificate for another name.
WRONG_NAME_HOST = "127.0.0.3"
WRONG_NAME = "mail.example.test"
# Dovecot refuses to run mail processes as root; any unused numeric id works without a passwd entry.
ROOT_MAIL_ID = 64123
START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class MailboxAccount:
    username: str
    password: str
    maildir: Path


@dataclass
class DovecotServer:
    """A running Dovecot: pop3s (implicit TLS), pop3 (STLS required) and a wrong-name pop3s."""

    host: str
    pop3s_port: int
    pop3_port: int
    wrong_name_host: str
    wrong_name_port: int
    ca_file: Path
    trustme_ca: trustme.CA
    root: Path
    config_file: Path
    mail_uid: int
    mail_gid: int
    process: subprocess.Popen[bytes] = field(repr=False)
    _names: itertools.count[int] = field(default_factory=itertools.count, repr=False)

    @property
    def log_file(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def wrong_name(self) -> str:
        """The only name on the wrong-name listener's certificate."""
        return WRONG_NAME

    def new_mailbox(self) -> MailboxAccount:
        """A new user with an empty Maildir, so tests never share a mailbox."""
        username = f"user{next(self._names):04d}"
        home = self.root / "home" / username
        maildir = home / "Maildir"
        for directory in (home, maildir, *(maildir / sub for sub in ("cur", "new", "tmp"))):
            directory.mkdir(mode=0o700)
            os.chown(directory, self.mail_uid, self.mail_gid)
        account = MailboxAccount(username, secrets.token_urlsafe(12), maildir)
        self._write_passdb_entry(account)
        return account

    def deliver(self, account: MailboxAccount, raw: bytes) -> Path:
        """Drop one message into Maildir/new; names sort in delivery order."""
        name = f"{time.time_ns():020d}.M{next(self._names):06d}P{os.getpid()}.localhost"
        staged = account.maildir / "tmp" / name
        staged.write_bytes(raw)
        os.chown(staged, self.mail_uid, self.mail_gid)
        staged.chmod(0o600)
        # A rename is atomic: Dovecot never sees a half-written message.
        delivered = account.maildir / "new" / name
        staged.rename(delivered)
        return delivered

    def count(self, account: MailboxAccount) -> int:
        """Messages still in the mailbox (new and cur)."""
        return sum(
            1
            for sub in ("new", "cur")
            for entry in (account.maildir / sub).iterdir()
            if entry.is_file()
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _write_passdb_entry(self, account: MailboxAccount) -> None:
        # One passwd-file per user: Dovecot re-reads a changed passwd-file at most once a
        # second, but opens a file it has never seen at once.
        entry = self.root / "passwd.d" / account.username
        entry.write_text(f"{account.username}:{{PLAIN}}{account.password}::::::\n")
        entry.chmod(0o644)


def dovecot_binary() -> Path | None:
    found = shutil.which("dovecot") or (str(DOVECOT_BINARY) if DOVECOT_BINARY.exists() else None)
    return Path(found) if found else None


def start_dovecot(root: Path, binary: Path = DOVECOT_BINARY) -> DovecotServer:
    """Start Dovecot in the foreground under `root` (must be world-traversable)."""
    root.chmod(0o755)
    (root / "home").mkdir(mode=0o755)
    (root / "state").mkdir(mode=0o755)
    mail_uid, mail_gid = _mail_ids()

    ca = trustme.CA()
    ca_file = root / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    _write_cert(ca.issue_cert(HOST, "localhost"), root / "server")
    _write_cert(ca.issue_cert(WRONG_NAME), root / "wrong-name")
    (root / "passwd.d").mkdir(mode=0o755)

    pop3s_port, pop3_port, wrong_name_port = _free_ports(3)
    config_file = root / "dovecot.conf"
    config_file.write_text(
        _config(root, pop3s_port, pop3_port, wrong_name_port, mail_uid, mail_gid)
    )
    with (root / "dovecot.log").open("ab") as log:
        process = subprocess.Popen(
            [str(binary), "-F", "-c", str(config_file)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = DovecotServer(
        host=HOST,
        pop3s_port=pop3s_port,
        pop3_port=pop3_port,
        wrong_name_host=WRONG_NAME_HOST,
        wrong_name_port=wrong_name_port,
        ca_file=ca_file,
        trustme_ca=ca,
        root=root,
        config_file=config_file,
        mail_uid=mail_uid,
        mail_gid=mail_gid,
        process=process,
    )
    try:
        _wait_until_listening(
            server, [(HOST, pop3s_port), (HOST, pop3_port), (WRONG_NAME_HOST, wrong_name_port)]
        )
    except BaseException:
        server.stop()
        raise
    return server


def _mail_ids() -> tuple[int, int]:
    if os.geteuid() == 0:
        return ROOT_MAIL_ID, ROOT_MAIL_ID
    return os.getuid(), os.getgid()


def _write_cert(cert: trustme.LeafCert, stem: Path) -> None:
    cert.private_key_pem.write_to_path(str(stem.with_suffix(".key")))
    cert.cert_chain_pems[0].write_to_path(str(stem.with_suffix(".pem")))
    for chain_pem in cert.cert_chain_pems[1:]:
        chain_pem.write_to_path(str(stem.with_suffix(".pem")), append=True)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _config(
    root: Path, pop3s_port: int, pop3_port: int, wrong_name_port: int, uid: int, gid: int
) -> str:
    service_users = ""
    if os.geteuid() != 0:
        # Without root, every Dovecot process runs as the calling user.
        user = pwd.getpwuid(os.getuid()).pw_name
        service_users = f"default_internal_user = {user}\ndefault_login_user = {user}\n"
    return f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = helpdesk-test-{root.name}
{service_users}protocols = pop3
listen = {HOST}, {WRONG_NAME_HOST}
ssl = required
disable_plaintext_auth = yes
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.key
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256 apop
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}
mail_location = maildir:~/Maildir
# Tests log in wrongly on purpose; Dovecot's delays after a failure would only slow them down.
auth_failure_delay = 0

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd.d/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}

service pop3-login {{
  inet_listener pop3 {{
    address = {HOST}
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    address = {HOST}
    port = {pop3s_port}
    ssl = yes
  }}
  inet_listener pop3s_wrong_name {{
    address = {WRONG_NAME_HOST}
    port = {wrong_name_port}
    ssl = yes
  }}
}}

service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}

local {WRONG_NAME_HOST} {{
  ssl_cert = <{root}/wrong-name.pem
  ssl_key = <{root}/wrong-name.key
}}
"""


def _wait_until_listening(server: DovecotServer, addresses: list[tuple[str, int]]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    pending = list(addresses)
    while pending:
        if server.process.poll() is not None:
            raise RuntimeError(f"dovecot exited at start:\n{_log_tail(server.log_file)}")
        if time.monotonic() > deadline:
            tail = _log_tail(server.log_file)
            raise RuntimeError(f"dovecot did not listen on {pending}:\n{tail}")
        try:
            socket.create_connection(pending[0], timeout=1).close()
        except OSError:
            time.sleep(0.05)
        else:
            pending.pop(0)


def _log_tail(log_file: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

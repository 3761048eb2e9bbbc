"""Files for docker-compose.yml's local trial only: a throw-away CA, a server certificate, and a
Dovecot user list.

    python -m helpdesk_ingest.devcerts DIR NAME [NAME ...] [--dovecot-user USER:PASSWORD_FILE]

writes DIR/ca.pem, DIR/server.pem (certificate chain) and DIR/server.key for the given names and,
with --dovecot-user, DIR/users holding a salted SHA-512 hash of the password (never the password).
Never use these for a real mail server: the CA's key is discarded and nothing is revoked.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import secrets
import sys
from pathlib import Path

import trustme


def write_certificates(directory: Path, names: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert(*names)
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    server.private_key_pem.write_to_path(str(directory / "server.key"))
    with (directory / "server.pem").open("wb") as chain:
        for blob in server.cert_chain_pems:
            chain.write(blob.bytes())
    (directory / "server.key").chmod(0o600)
    (directory / "ca.pem").chmod(0o644)
    (directory / "server.pem").chmod(0o644)


def dovecot_ssha512(password: str) -> str:
    """Dovecot's {SSHA512} scheme: base64(SHA-512(password + salt) + salt)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.sha512(password.encode("utf-8") + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode("ascii")


def write_dovecot_user(directory: Path, user: str, password_file: Path) -> None:
    password = password_file.read_text(encoding="utf-8").strip()
    line = f"{user}:{dovecot_ssha512(password)}:1000:1000::/srv/mail/{user}\n"
    users = directory / "users"
    users.write_text(line, encoding="utf-8")
    users.chmod(0o644)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpdesk_ingest.devcerts")
    parser.add_argument("directory", type=Path)
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument("--dovecot-user", metavar="USER:PASSWORD_FILE")
    args = parser.parse_args(argv)
    write_certificates(args.directory, args.names)
    if args.dovecot_user:
        user, _, password_file = args.dovecot_user.partition(":")
        write_dovecot_user(args.directory, user, Path(password_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write a throw-away CA and a server certificate, for local trials only (docker-compose).

    python -m helpdesk_ingest.devcerts DIR NAME [NAME ...]

writes DIR/ca.pem, DIR/server.pem (certificate chain) and DIR/server.key for the given names.
Never use these for a real mail server: the CA's key is discarded and nothing is revoked.
"""

from __future__ import annotations

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
    (directory / "server.key").chmod(0o640)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage: python -m helpdesk_ingest.devcerts DIR NAME [NAME ...]", file=sys.stderr)
        return 2
    write_certificates(Path(args[0]), args[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())

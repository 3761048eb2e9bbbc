"""The one TLS policy for mail servers: certificate and host name always verified, TLS 1.2+."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from helpdesk_ingest.pop3.errors import Pop3ConnectionError, Pop3TlsError


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """System CAs when ``ca_file`` is None, otherwise only the CAs in that file."""
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise Pop3TlsError(f"cannot load CA file {ca_file}: {exc}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def wrap(sock: socket.socket, context: ssl.SSLContext, host: str, where: str) -> ssl.SSLSocket:
    """Run the TLS handshake on ``sock``; closes it and raises when the peer is not trusted."""
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        reason = exc.verify_message or exc.reason or "verification failed"
        raise Pop3TlsError(f"certificate of {where} not accepted: {reason}") from exc
    except ssl.SSLError as exc:
        sock.close()
        raise Pop3TlsError(f"TLS handshake with {where} failed: {exc.reason or exc}") from exc
    except TimeoutError as exc:
        sock.close()
        raise Pop3ConnectionError(f"TLS handshake with {where} timed out") from exc
    except OSError as exc:
        sock.close()
        raise Pop3ConnectionError(
            f"connection to {where} lost during the TLS handshake: {exc.__class__.__name__}"
        ) from exc

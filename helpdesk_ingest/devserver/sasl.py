"""The development server's side of AUTH: PLAIN with the password, XOAUTH2 and OAUTHBEARER with a
configured bearer token. Enough to test the client's encodings; not a SASL library."""

from __future__ import annotations

import base64
import binascii
import hmac
import json

OAUTH_ERROR = json.dumps({"status": "401", "schemes": "bearer", "scope": "pop"}).encode()


def failure_challenge() -> bytes:
    return base64.b64encode(OAUTH_ERROR)


def decode(line: str) -> bytes | None:
    """A base64 response ("=" is empty), or None when it is not base64."""
    if line == "=":
        return b""
    try:
        return base64.b64decode(line, validate=True)
    except binascii.Error:
        return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def plain_ok(data: bytes, username: str, password: str) -> bool:
    parts = data.split(b"\0")
    if len(parts) != 3 or parts[0] not in (b"", username.encode()):
        return False
    return parts[1] == username.encode() and _same(parts[2].decode(errors="replace"), password)


def _bearer_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in text.split("\x01"):
        key, separator, value = item.partition("=")
        if separator:
            fields[key] = value
    return fields


def xoauth2_ok(data: bytes, username: str, token: str) -> bool:
    text = data.decode(errors="replace")
    if not text.endswith("\x01\x01"):
        return False
    fields = _bearer_fields(text)
    return fields.get("user") == username and _same(fields.get("auth", ""), f"Bearer {token}")


def oauthbearer_ok(data: bytes, username: str, token: str) -> bool:
    text = data.decode(errors="replace")
    header, separator, rest = text.partition("\x01")
    if not separator or not rest.endswith("\x01\x01"):
        return False
    gs2 = header.split(",")
    if len(gs2) < 2 or gs2[0] != "n" or not gs2[1].startswith("a="):
        return False
    name = gs2[1][2:].replace("=2C", ",").replace("=3D", "=")
    return name == username and _same(_bearer_fields(rest).get("auth", ""), f"Bearer {token}")

"""Fixture messages whose files hide inside other things: TNEF, uuencode, S/MIME, PGP, iCalendar."""

from __future__ import annotations

import base64
import binascii
import struct

from .messages import PNG_BYTES

_TNEF_SIGNATURE = 0x223E9F78
_LEVEL_ATTACHMENT = 2
_ATTACH_REND_DATA = (0x0006, 0x9002)
_ATTACH_TITLE = (0x0001, 0x8010)
_ATTACH_DATA = (0x0006, 0x800F)


def _tnef_object(level: int, kind: tuple[int, int], data: bytes) -> bytes:
    type_code, name = kind
    checksum = sum(data) & 0xFFFF
    return (
        struct.pack("<BHHI", level, name, type_code, len(data)) + data + struct.pack("<H", checksum)
    )


def tnef_container(files: dict[str, bytes]) -> bytes:
    """A winmail.dat as Outlook writes it, holding ``files`` (TNEF attachment records)."""
    out = struct.pack("<IH", _TNEF_SIGNATURE, 0x0001)
    for name, content in files.items():
        out += _tnef_object(_LEVEL_ATTACHMENT, _ATTACH_REND_DATA, b"\x00" * 14)
        out += _tnef_object(_LEVEL_ATTACHMENT, _ATTACH_TITLE, name.encode() + b"\x00")
        out += _tnef_object(_LEVEL_ATTACHMENT, _ATTACH_DATA, content)
    return out


_LEVEL_MESSAGE = 1
_MAPI_PROPERTIES = (0x0006, 0x9003)


def tnef_counting_past_its_data(count: int, *, multi_valued: bool = False) -> bytes:
    """A winmail.dat whose MAPI properties say there are ``count`` of them and hold none, or hold
    one short integer property said to have ``count`` values and none of them."""
    if multi_valued:
        # One property: type short (0x0002) with the multi-value flag (0x1000), name 0x0001.
        properties = struct.pack("<IHHI", 1, 0x1002, 0x0001, count)
    else:
        properties = struct.pack("<I", count)
    return struct.pack("<IH", _TNEF_SIGNATURE, 0x0001) + _tnef_object(
        _LEVEL_MESSAGE, _MAPI_PROPERTIES, properties
    )


def _base64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def with_winmail(winmail: bytes) -> bytes:
    return f"""\
From: outlook@example.com
To: support@example.org
Subject: Report attached
Message-ID: <tnef-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

Please see the report.
--b
Content-Type: application/ms-tnef; name="winmail.dat"
Content-Disposition: attachment; filename="winmail.dat"
Content-Transfer-Encoding: base64

{_base64(winmail)}--b--
""".encode()


def _uuencoded(name: str, data: bytes) -> str:
    lines = [binascii.b2a_uu(data[i : i + 45]).decode("ascii") for i in range(0, len(data), 45)]
    return f"begin 644 {name}\n{''.join(lines)}`\nend\n"


def uuencoded_in_body() -> bytes:
    return f"""\
From: oldmailer@example.com
To: support@example.org
Subject: Screenshot
Message-ID: <uu-1@example.com>

Here is the screenshot.

{_uuencoded("shot.png", PNG_BYTES)}
Regards
""".encode()


CALENDAR_ALTERNATIVE = b"""\
From: organizer@example.com
To: support@example.org
Subject: Invitation: review
Message-ID: <cal-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

You are invited to the review.
--alt
Content-Type: text/calendar; charset=utf-8; method=REQUEST

BEGIN:VCALENDAR
METHOD:REQUEST
BEGIN:VEVENT
SUMMARY:Review
END:VEVENT
END:VCALENDAR
--alt--
"""

SMIME_SIGNED = b"""\
From: signer@example.com
To: support@example.org
Subject: Signed
Message-ID: <smime-s@example.com>
MIME-Version: 1.0
Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;
 boundary="s"

--s
Content-Type: text/plain; charset=utf-8

The signed words.
--s
Content-Type: application/pkcs7-signature; name="smime.p7s"
Content-Disposition: attachment; filename="smime.p7s"
Content-Transfer-Encoding: base64

MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAA==
--s--
"""

SMIME_ENCRYPTED = b"""\
From: secret@example.com
To: support@example.org
Subject: Encrypted
Message-ID: <smime-e@example.com>
MIME-Version: 1.0
Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"
Content-Disposition: attachment; filename="smime.p7m"
Content-Transfer-Encoding: base64

MIAGCSqGSIb3DQEHA6CAMIACAQAxggFAMIIBPAIBADAkMBYxFDASBgNVBAMMC2V4YW1wbGUuY29t
"""

PGP_SIGNED = b"""\
From: pgp@example.com
To: support@example.org
Subject: PGP signed
Message-ID: <pgp-s@example.com>
MIME-Version: 1.0
Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature";
 boundary="p"

--p
Content-Type: text/plain; charset=utf-8

Signed with PGP.
--p
Content-Type: application/pgp-signature; name="signature.asc"
Content-Disposition: attachment; filename="signature.asc"

-----BEGIN PGP SIGNATURE-----

iQEzBAEBCAAdFiEE
-----END PGP SIGNATURE-----
--p--
"""

PGP_ENCRYPTED = b"""\
From: pgp@example.com
To: support@example.org
Subject: PGP encrypted
Message-ID: <pgp-e@example.com>
MIME-Version: 1.0
Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="e"

--e
Content-Type: application/pgp-encrypted

Version: 1
--e
Content-Type: application/octet-stream; name="encrypted.asc"
Content-Disposition: inline; filename="encrypted.asc"

-----BEGIN PGP MESSAGE-----

hQEMA1234
-----END PGP MESSAGE-----
--e--
"""

PGP_INLINE = b"""\
From: pgp@example.com
To: support@example.org
Subject: Inline PGP
Message-ID: <pgp-i@example.com>
Content-Type: text/plain; charset=us-ascii

-----BEGIN PGP MESSAGE-----
Version: GnuPG v2

hQEMA1234abcd
=abcd
-----END PGP MESSAGE-----
"""

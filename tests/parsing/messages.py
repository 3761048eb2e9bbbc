"""Fixture messages written for these tests: small, readable and each about one thing."""

from __future__ import annotations

import base64

PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def plain(*, extra_headers: str = "", body: str = "Hello,\nthe printer is on fire.\n") -> bytes:
    return (
        "From: Alice Example <alice@example.com>\r\n"
        "To: Support <support@example.org>, bob@example.org\r\n"
        "Cc: carol@example.net\r\n"
        "Subject: Printer on fire\r\n"
        "Date: Tue, 03 Sep 2024 10:15:00 +0200\r\n"
        "Message-ID: <plain-1@example.com>\r\n"
        f"{extra_headers}"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}"
    ).encode()


ALTERNATIVE = b"""\
From: alice@example.com
To: support@example.org
Subject: Both forms
Message-ID: <alt-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Plain words.
--b1
Content-Type: text/html; charset=utf-8

<html><body><p>HTML <b>words</b>.</p></body></html>
--b1--
"""

HTML_ONLY = b"""\
From: alice@example.com
To: support@example.org
Subject: Only HTML
Message-ID: <html-1@example.com>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><h1>Order</h1><p>See <a href="https://shop.example.com/o/42">your order</a>.</p>
</body></html>
"""

XSS = b"""\
From: mallory@example.com
To: support@example.org
Subject: Hello
Message-ID: <xss-1@example.com>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<p onclick="steal()">Hi<script>alert('boom')</script>
<img src="http://tracker.example.com/pixel.gif" onerror="alert(1)">
<a href="javascript:alert(2)">click</a>
<a href="https://example.com/ok">fine</a>
<iframe src="https://evil.example.com/"></iframe></p>
"""

ATTACHMENTS = (
    b"""\
From: alice@example.com
To: support@example.org
Subject: Screenshot and log
Message-ID: <att-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

See the picture.
--alt
Content-Type: text/html; charset=utf-8

<p>See the picture: <img src="cid:shot@example.com"></p>
--alt--
--rel
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <shot@example.com>

"""
    + base64.encodebytes(PNG_BYTES)
    + b"""\
--rel--
--outer
Content-Type: text/plain; name="app.log"
Content-Disposition: attachment; filename="../../etc/app.log"

line 1
--outer
Content-Type: application/octet-stream
Content-Disposition: attachment
Content-Transfer-Encoding: base64

AAEC
--outer
Content-Type: message/rfc822

From: bob@example.org
Subject: the forwarded one
Message-ID: <inner@example.org>

Inner body.
--outer--
"""
)

ENCODED_SUBJECT = b"""\
From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>
To: support@example.org
Subject: =?utf-8?b?w5xiZXJ3ZWlzdW5n?= =?iso-8859-1?q?_f=FCr?=
 =?utf-8?q?_M=C3=A4rz?=
Message-ID: <enc-1@example.de>
In-Reply-To: junk before <orig-1@example.org> junk after
References: <a@example.org>
 <b@example.org>	<orig-1@example.org>
Date: not a date at all

Hallo.
"""

NO_MESSAGE_ID = b"""\
From: alice@example.com
To: support@example.org
Subject: No id

Body.
"""

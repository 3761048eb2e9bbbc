"""Charsets, file names and the report shape."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.parsing.filenames import MAX_FILENAME_LENGTH, safe_filename
from helpdesk_ingest.parsing.report import parse_report
from helpdesk_ingest.parsing.text import codec_for, decode_bytes

from . import messages


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("UTF-8", "utf-8"),
        ("uft-8", "utf-8"),
        ('"utf8"', "utf-8"),
        ("iso-gb2312", "gb18030"),
        ("GB2312", "gb18030"),
        ("ks_c_5601-1987", "cp949"),
        ("shift_jis", "cp932"),
        ("unicode-1-1-utf-7", "utf-7"),
        ("utf-7", "utf-7"),
        ("x-unknown", None),
        ("utf-\x008", None),
        ("no-such-charset", None),
        (None, None),
    ],
)
def test_charset_labels(label: str | None, codec: str | None) -> None:
    assert codec_for(label) == codec


def test_latin1_label_with_windows_bytes_decodes_as_cp1252() -> None:
    text, defects = decode_bytes("\u201cQuote\u201d \u2013 5 \u20ac".encode("cp1252"), "iso-8859-1")

    assert text == "\u201cQuote\u201d \u2013 5 \u20ac"
    assert defects == []


def test_latin1_label_without_windows_bytes_stays_latin1() -> None:
    assert decode_bytes("Grüße".encode("latin-1"), "ISO-8859-1") == ("Grüße", [])


def test_wrong_label_falls_back_to_utf8() -> None:
    text, defects = decode_bytes("日本語のテキスト".encode(), "us-ascii")

    assert text == "日本語のテキスト"
    assert defects == []


def test_mislabelled_text_is_detected() -> None:
    cyrillic = "Здравствуйте, \u0443 меня не работает принтер в офисе на третьем этаже."

    text, defects = decode_bytes(cyrillic.encode("cp1251"), "utf-8")

    assert text == cyrillic
    assert "charset-mismatch:utf-8" in defects


# Text without a usable label, in the charsets senders' software writes, with three 8-bit bytes
# or more: enough for detection. Western text is the hard case: a few accented letters among
# ASCII fit many charsets (an earlier detector read the German paragraph as Big5-HKSCS).
_UNLABELLED = [
    ("\u201eRechnung\u201c \u2013 5 \u20ac", "cp1252"),
    ("Grüße aus Köln", "cp1252"),
    (
        "Sehr geehrte Damen und Herren,\r\nmeine Bestellung ist nicht angekommen. Können Sie "
        "bitte prüfen?\r\nMit freundlichen Grüßen\r\n",
        "cp1252",
    ),
    ("Здравствуйте, \u0443 меня не работает принтер в офисе на третьем этаже.", "koi8-r"),
    ("Dobrý den, objednávka ještě nedorazila. Můžete to prosím zkontrolovat?", "iso-8859-2"),
    ("お世話になっております。注文した商品がまだ届いておりません。", "euc-jp"),
    ("Καλημέρα σας, η παραγγελία μου δεν έχει φτάσει ακόμα.", "iso-8859-7"),
]


@pytest.mark.parametrize(("text", "charset"), _UNLABELLED)
@pytest.mark.parametrize("label", [None, "us-ascii"])
def test_unlabelled_or_mislabelled_text_is_detected(
    text: str, charset: str, label: str | None
) -> None:
    decoded, defects = decode_bytes(text.encode(charset), label)

    assert decoded == text
    assert [defect for defect in defects if defect.startswith("charset-detected:")]


# One or two accented letters among ASCII: too little to detect from. The first four the detector
# reads as Baltic, Esperanto, Cyrillic and Romanian text ("Trčs bien", "à" as a Cyrillic letter).
_TOO_SHORT_TO_DETECT = [
    "Très bien",
    "Hej då",
    "Merci beaucoup, à demain",
    "Ça marche",
    "Hallo Jürgen",
    "Danke schön!",
    "Smörgåsbord",
]


@pytest.mark.parametrize("text", _TOO_SHORT_TO_DETECT)
@pytest.mark.parametrize("label", [None, "us-ascii", "utf-8"])
def test_unlabelled_text_with_one_or_two_accented_letters_is_read_as_windows_1252(
    text: str, label: str | None
) -> None:
    decoded, defects = decode_bytes(text.encode("cp1252"), label)

    assert decoded == text
    assert "charset-assumed:cp1252" in defects


@pytest.mark.parametrize(
    ("text", "charset", "elsewhere", "used"),
    [
        # A one-byte charset the message declares: Czech reads as Western without it ("Dìkuji").
        ("Děkuji", "iso-8859-2", ["iso8859-2"], "iso8859-2"),
        # A multi-byte one: each of these two bytes is one character, which detection misses.
        ("Tanaka 様", "cp932", ["cp932"], "cp932"),
        ("OK 好", "gb18030", ["gb18030", "big5"], "gb18030"),
        ("Ok 是", "big5", ["big5", "gb18030"], "big5"),
        # One that cannot decode the text is passed over.
        ("Děkuji", "cp1250", ["cp932", "cp1250"], "cp1250"),
    ],
)
def test_short_unlabelled_text_is_read_in_a_charset_the_message_declares(
    text: str, charset: str, elsewhere: list[str], used: str
) -> None:
    decoded, defects = decode_bytes(text.encode(charset), None, lambda: elsewhere)

    assert decoded == text
    assert defects == [f"charset-assumed:{used}"]


def test_two_bytes_in_a_row_are_not_taken_for_accented_letters() -> None:
    # A word of two Cyrillic letters, or one character of a multi-byte charset.
    assert decode_bytes("Да".encode("cp1251"), None) == ("Да", ["charset-detected:cp1251"])


def test_a_short_html_part_that_declares_its_charset_is_read_in_it() -> None:
    html = '<html><head><meta charset="iso-8859-2"></head><body>Děkuji</body></html>'

    decoded, defects = decode_bytes(html.encode("iso-8859-2"), None, markup=True)

    assert decoded == html
    assert defects == ["charset-detected:iso8859-2"]


def test_a_short_html_part_without_a_declaration_is_read_as_windows_1252() -> None:
    html = "<p>Très bien</p>"

    assert decode_bytes(html.encode("cp1252"), None, markup=True) == (
        html,
        ["charset-assumed:cp1252"],
    )


@pytest.mark.parametrize(
    ("text", "fallback"),
    [("Dzięki", "cp1250"), ("Ok, я", "cp1251"), ("Teşekkürler", "cp1254")],
)
def test_short_undeclared_text_is_read_in_the_configured_fallback(text: str, fallback: str) -> None:
    raw = (
        b"From: a@example.org\r\nSubject: short\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain\r\n\r\n" + text.encode(fallback) + b"\r\n"
    )

    result = parse_message(raw, fallback_charset=fallback)

    assert isinstance(result, ParsedMessage)
    assert result.body_text == text
    assert f"charset-assumed:{fallback}" in result.defects


def test_raw_8bit_headers_are_read_in_the_configured_fallback() -> None:
    raw = "From: Ирина <irina@example.org>\r\nSubject: Счёт\r\n\r\nbody\r\n".encode("cp1251")

    result = parse_message(raw, fallback_charset="cp1251")

    assert isinstance(result, ParsedMessage)
    assert result.subject == "Счёт"
    assert result.from_address is not None
    assert result.from_address.name == "Ирина"
    # Without it, as windows-1252.
    default = parse_message(raw)
    assert isinstance(default, ParsedMessage)
    assert default.subject == "Счёт".encode("cp1251").decode("cp1252")


def test_an_encoded_word_without_a_charset_is_read_in_the_configured_fallback() -> None:
    # unknown-8bit: what some gateways label 8-bit header bytes with when they encode them.
    raw = (
        b"From: =?unknown-8bit?Q?=D1=E2=E5=F2=EB=E0=ED=E0?= <s@example.org>\r\n"
        b"To: support@example.com\r\nSubject: =?unknown-8bit?Q?Ok,_=FF?=\r\n"
        b'Content-Type: application/octet-stream; name="=?x-no-such?Q?=FF.pdf?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
    )

    result = parse_message(raw, fallback_charset="cp1251")

    assert isinstance(result, ParsedMessage)
    assert result.subject == "Ok, я"
    assert ("Subject", "Ok, я") in result.headers
    assert result.from_address is not None
    assert result.from_address.name == "Светлана"
    assert [attachment.filename for attachment in result.attachments] == ["я.pdf"]
    # Without it, the lone byte as windows-1252.
    default = parse_message(raw)
    assert isinstance(default, ParsedMessage)
    assert default.subject == "Ok, ÿ"


def test_an_encoded_word_without_a_charset_is_read_in_the_charset_the_message_declares() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: =?x-unknown?Q?=E4=C1,_ok?=\r\n"
        b"Content-Type: text/plain; charset=koi8-r\r\n\r\n"
        + "\u041d\u0435 \u043f\u0440\u043e\u0448\u0451\u043b.\r\n".encode("koi8-r")
    )

    result = parse_message(raw)

    assert isinstance(result, ParsedMessage)
    # Two 8-bit bytes are too few to detect a charset from: detection read Thai ("ไม").
    assert result.subject == "Да, ok"


def test_an_unlabelled_body_is_read_in_the_charset_of_the_subject() -> None:
    raw = (
        b"From: klient@example.cz\r\nSubject: =?iso-8859-2?Q?D=ECkuji?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "Děkuji.\r\n".encode("iso-8859-2")
    )

    result = parse_message(raw)

    assert isinstance(result, ParsedMessage)
    assert result.subject == "Děkuji"
    # Detection reads the one 8-bit byte as "ì", and windows-1252 would too.
    assert result.body_text == "Děkuji."


def test_a_raw_header_is_read_in_the_charset_of_an_encoded_word() -> None:
    raw = (
        b"From: =?iso-8859-2?Q?Ji=F8=ED?= <jiri@example.cz>\r\n"
        + "Subject: Účet je zablokovaný\r\n".encode("iso-8859-2")
        + b"\r\nbody\r\n"
    )

    result = parse_message(raw)

    assert isinstance(result, ParsedMessage)
    assert result.subject == "Účet je zablokovaný"


def test_unlabelled_iso2022_text_is_not_taken_for_utf8() -> None:
    # Seven-bit, it decodes as UTF-8 too, escape sequences and all.
    text = "お世話になっております。注文した商品がまだ届いておりません。"

    decoded, defects = decode_bytes(text.encode("iso-2022-jp"), None)

    assert decoded == text
    assert defects == ["charset-detected:iso2022_jp"]


def test_unlabelled_text_with_terminal_colours_stays_as_it_is() -> None:
    text = "\x1b[31mERROR\x1b[0m: /var is full"

    assert decode_bytes(text.encode(), None) == (text, [])


def test_a_mislabelled_encoded_word_and_an_unlabelled_body_read_as_written() -> None:
    raw = (
        b"From: kunde@example.org\r\nSubject: =?us-ascii?Q?Gr=FC=DFe_aus_K=F6ln?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "Hallo Jürgen, die Lieferung für März fehlt noch.\r\n".encode("cp1252")
    )

    result = parse_message(raw)

    assert isinstance(result, ParsedMessage)
    assert result.subject == "Grüße aus Köln"
    assert result.body_text == "Hallo Jürgen, die Lieferung für März fehlt noch."


@pytest.mark.parametrize("label", ["ISO-8859-1", "windows-1252", "iso-8859-15", "koi8-r"])
def test_utf8_under_a_single_byte_label_is_read_as_utf8(label: str) -> None:
    # Such a label decodes every byte: without the check, "GrÃ¼ÃŸe aus KÃ¶ln".
    text = "Grüße aus Köln, \u201eRechnung\u201c \u2013 5 \u20ac"

    decoded, defects = decode_bytes(text.encode(), label)

    assert decoded == text
    assert defects == [f"charset-mismatch:{label}"]


@pytest.mark.parametrize(
    ("text", "charset"),
    [(text, charset) for text, charset in _UNLABELLED if charset != "euc-jp"]
    + [("Straße, Ärger, Öl, Übermut", "iso-8859-1"), ("Привет, заказ не пришёл", "cp1251")],
)
def test_text_in_its_declared_single_byte_charset_is_read_as_declared(
    text: str, charset: str
) -> None:
    assert decode_bytes(text.encode(charset), charset) == (text, [])


def test_a_utf8_subject_and_body_labelled_latin1_read_as_written() -> None:
    raw = (
        b"From: kunde@example.org\r\nSubject: =?iso-8859-1?Q?Gr=C3=BC=C3=9Fe?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "Die Lieferung für März fehlt.\r\n".encode()
    )

    result = parse_message(raw)

    assert isinstance(result, ParsedMessage)
    assert result.subject == "Grüße"
    assert result.body_text == "Die Lieferung für März fehlt."
    assert "charset-mismatch:iso-8859-1" in result.defects


def test_unknown_label_is_a_defect_and_still_decodes() -> None:
    text, defects = decode_bytes(b"plain ascii", "klingon-8")

    assert text == "plain ascii"
    assert defects == ["unknown-charset:klingon-8"]


def test_utf7_body() -> None:
    raw = b"From: a@example.com\nContent-Type: text/plain; charset=utf-7\n\nGr+APw-+AN8-e\n"

    result = parse_message(raw)

    assert isinstance(result, ParsedMessage)
    assert result.body_text == "Grüße"


@pytest.mark.parametrize(
    "naming",
    [
        pytest.param(
            b"Content-Disposition: attachment;\n filename*0*=utf-8''Rechnung%20M%C3%A4rz;\n"
            b" filename*1=.pdf\n",
            id="rfc2231",
        ),
        # Not RFC 2231, and unquoted; the header registry reads no file name in it at all.
        pytest.param(
            b"Content-Disposition: attachment; filename==?utf-8?B?UmVjaG51bmcgTcOkcnoucGRm?=\n",
            id="unquoted-encoded-word",
        ),
    ],
)
def test_an_encoded_file_name_is_decoded(naming: bytes) -> None:
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nbody\n"
        b"--b\nContent-Type: application/pdf\n" + naming + b"\n%PDF\n--b--\n"
    )

    result = parse_message(raw)

    assert isinstance(result, ParsedMessage)
    assert [attachment.filename for attachment in result.attachments] == ["Rechnung März.pdf"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\evil.exe", "evil.exe"),
        ("a\x00b\x1fc.txt", "a_b_c.txt"),
        # Shown as "invoiceexe.pdf" with its right-to-left override.
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),
        ("\u2067photo\u2069\u200f.jpg", "_photo_.jpg"),
        ("\u05d3\u05d5\u05d7.pdf", "\u05d3\u05d5\u05d7.pdf"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("...hidden", "hidden"),
        ("   ", "attachment-3.pdf"),
        (None, "attachment-3.pdf"),
    ],
)
def test_safe_filename(name: str | None, expected: str) -> None:
    assert safe_filename(name, "application/pdf", 3) == expected


def test_long_filename_is_capped_and_keeps_its_extension() -> None:
    name = safe_filename("x" * 500 + ".docx", "application/octet-stream", 1)

    assert len(name) == MAX_FILENAME_LENGTH
    assert name.endswith(".docx")


def test_report_shape_is_json() -> None:
    result = parse_message(messages.ATTACHMENTS)

    report = parse_report(result)

    assert json.loads(json.dumps(report)) == report
    assert report["message_id"] == "<att-1@example.com>"
    assert report["from"] == {"name": "", "email": "alice@example.com"}
    attachments = report["attachments"]
    assert isinstance(attachments, list)
    assert attachments[0]["inline"] is True
    assert attachments[0]["content_id"] == "shot@example.com"
    assert attachments[0]["size"] == len(messages.PNG_BYTES)


def test_report_of_a_failure_is_a_quarantine() -> None:
    assert parse_report(parse_message(b"")) == {
        "quarantine": {"reason": "unparseable", "detail": "the message is empty"}
    }


def test_report_date_is_iso8601() -> None:
    report = parse_report(parse_message(messages.plain()))

    assert report["date"] == "2024-09-03T08:15:00+00:00"


def test_a_raw_8bit_file_name_is_read_in_the_charset_the_message_declares() -> None:
    name = "請求書.pdf".encode("shift_jis")
    raw = (
        b"From: a@example.org\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=shift_jis\r\n\r\nplease see\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="' + name + b'"\r\n\r\n%PDF-1.4\r\n'
        b"--b--\r\n"
    )
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    assert [attachment.filename for attachment in parsed.attachments] == ["請求書.pdf"]


_LABELS = [
    None,
    "utf-8",
    "us-ascii",
    "iso-8859-1",
    "windows-1252",
    "koi8-r",
    "iso-2022-jp",
    "shift_jis",
    "klingon-8",
    "x-unknown",
]


# No deadline: the detector loads its models at its first call.
@settings(deadline=None)
@given(
    data=st.binary(max_size=200) | st.text(max_size=60).map(str.encode),
    label=st.sampled_from(_LABELS),
)
def test_any_bytes_under_any_label_decode_to_text_without_raising(
    data: bytes, label: str | None
) -> None:
    text, defects = decode_bytes(data, label)

    assert isinstance(text, str)
    # What the parser hands on must encode as UTF-8 for the database.
    text.encode("utf-8")
    assert all(isinstance(defect, str) for defect in defects)

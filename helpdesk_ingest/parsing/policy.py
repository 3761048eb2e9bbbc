"""``email.policy.default`` with each distinct header value parsed once per process.

Under the default policy every read of a header (``get``, ``get_content_type``, ``get_param``,
``get_filename``…) parses its value again through the header registry: the feed parser itself
asks each part for its content type several times, and the parser's walk asks again for its
marks, body and attachments, about 28 parses of a few distinct values per message. Most of those
values also repeat from message to message: the same "text/plain; charset=utf-8", the same
"quoted-printable". The parsed header is an immutable ``str`` with read-only attributes (its
parameters a read-only mapping, its defects a tuple), so handing the same object to every read
of the same value, in one message or the next, changes no result.
"""

from __future__ import annotations

import email.policy
import functools
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import TYPE_CHECKING, Any

from helpdesk_ingest.parse_limits import PARAMETER_VALUE_LIMIT
from helpdesk_ingest.parsing.lenient import LenientEmailMessage

if TYPE_CHECKING:
    # Generic in the stubs only.
    _DefaultPolicy = EmailPolicy[EmailMessage]
else:
    _DefaultPolicy = EmailPolicy

# Parsed headers kept, least recently used dropped first. The values that repeat across messages
# are few and come back with every message; the others (multipart boundaries are unique) pass
# through. Each kept header holds its parse tree, some kilobytes: a few thousand of them would
# grow a worker by tens of megabytes.
PARSED_HEADERS_KEPT = 64


# The registry's parser takes time in the square of a value's length on some values (each
# encoded word of a quoted string splits the rest of the value again: 20,000 of them in a file
# name, 280 KB, took 14 s). Real structured values are far shorter; a longer one is read as
# plain text, as the compat32 policy reads every value, which is all the parser needs of it.
STRUCTURED_VALUE_LIMIT = 16 * 1024
# MIME parameter headers are where it does worst within that limit: at each ";" or '"' of a
# Content-Disposition it goes over the defects of all the parameters before (16 KB of them took
# 0.7 s, and a message of a few hundred parts with such values, minutes): over
# PARAMETER_VALUE_LIMIT they are read as plain text too.
_PARAMETER_HEADERS = frozenset({"content-type", "content-disposition"})


@functools.lru_cache(maxsize=PARSED_HEADERS_KEPT)
def _parsed(name: str, value: str) -> Any:
    return email.policy.default.header_fetch_parse(name, value)


class ParseOncePolicy(_DefaultPolicy):
    """The default policy, handing out the header each (name, raw value) was parsed into."""

    def __init__(self) -> None:
        super().__init__(
            header_factory=email.policy.default.header_factory,
            message_factory=LenientEmailMessage,
        )

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):
            # A header object set by the program rather than read from the source is kept
            # as is by the default policy; there is nothing to parse.
            return super().header_fetch_parse(name, value)
        parameters = name.lower() in _PARAMETER_HEADERS
        if len(value) > (PARAMETER_VALUE_LIMIT if parameters else STRUCTURED_VALUE_LIMIT):
            return email.policy.compat32.header_fetch_parse(name, value)
        try:
            return _parsed(name, value)
        except Exception:
            # The registry's own parser fails on some damaged values (Python 3.11 raises
            # IndexError on an RFC 2231 parameter cut off after its charset). Read as plain
            # text, as the compat32 policy does, the value costs its structure, not the message.
            return email.policy.compat32.header_fetch_parse(name, value)


# It holds nothing of any one message: every parse can use it.
PARSE_ONCE = ParseOncePolicy()

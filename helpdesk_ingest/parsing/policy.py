"""``email.policy.default`` with each header value parsed once per message.

Under the default policy every read of a header (``get``, ``get_content_type``, ``get_param``,
``get_filename``…) parses its value again through the header registry: the feed parser itself
asks each part for its content type several times, and the parser's walk asks again for its
marks, body and attachments, about 28 parses of a few distinct values per message. The parsed
header is an immutable ``str`` with read-only attributes (its parameters a read-only mapping,
its defects a tuple), so handing the same object to every read of the same value changes no
result.
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Generic in the stubs only.
    _DefaultPolicy = EmailPolicy[EmailMessage]
else:
    _DefaultPolicy = EmailPolicy


class ParseOncePolicy(_DefaultPolicy):
    """The default policy, remembering the header each (name, raw value) was parsed into.

    Make one for each message: its memory lives as long as that message's tree.
    """

    _parsed: dict[tuple[str, str], Any]

    def __init__(self) -> None:
        super().__init__(header_factory=email.policy.default.header_factory)
        # Policies are read-only after construction; this dict is the one thing that grows.
        object.__setattr__(self, "_parsed", {})

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):
            # A header object set by the program rather than read from the source is kept
            # as is by the default policy; there is nothing to parse.
            return super().header_fetch_parse(name, value)
        key = (name, value)
        header = self._parsed.get(key)
        if header is None:
            header = self._parsed[key] = self._parse(name, value)
        return header

    def _parse(self, name: str, value: str) -> Any:
        try:
            return super().header_fetch_parse(name, value)
        except Exception:
            # The registry's own parser fails on some damaged values (Python 3.11 raises
            # IndexError on an RFC 2231 parameter cut off after its charset). Read as plain
            # text, as the compat32 policy does, the value costs its structure, not the message.
            return email.policy.compat32.header_fetch_parse(name, value)

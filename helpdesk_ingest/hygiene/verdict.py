"""The classifier's verdict on a message, apart from the classifier.

The daemon's own process stores verdicts that its parse workers reached; it needs their shape,
never the classifier, which loads the parser and the bounce detectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["customer", "auto-reply", "bounce", "loop"]


@dataclass(frozen=True, slots=True)
class Classification:
    """What kind of mail this is and why.

    ``flags`` are short stable codes (``auto-submitted``, ``dsn``, ``own-address``…) stored on the
    article. A loop (our own mail coming back) beats a bounce, which beats an auto-reply.
    """

    kind: Kind
    flags: tuple[str, ...] = ()
    failed_recipients: tuple[str, ...] = ()
    dsn_status: str | None = None
    original_message_id: str | None = None

    @property
    def automatic(self) -> bool:
        return self.kind in {"auto-reply", "bounce"}


CUSTOMER = Classification("customer")

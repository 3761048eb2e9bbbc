"""Finding credentials or SASL exchanges in log events and exception chains."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any

# Any long base64 run is taken for a SASL exchange: nothing else in a login event looks like one.
_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")


def exception_texts(exc: BaseException | None) -> list[str]:
    """str and repr of an exception, its response and every exception it was raised from."""
    texts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        texts += [str(exc), repr(exc), repr(getattr(exc, "response", None))]
        exc = exc.__cause__ or exc.__context__
    return texts


def leaks(
    events: Iterable[Mapping[str, Any]], errors: Iterable[str], secrets: Iterable[str]
) -> list[str]:
    """Every text that shows a secret, its base64 form or a base64 blob."""
    texts = [repr(value) for event in events for value in event.values()] + list(errors)
    needles = [
        s for secret in secrets for s in (secret, base64.b64encode(secret.encode()).decode())
    ]
    return [
        text
        for text in texts
        if any(needle in text for needle in needles) or _BASE64_BLOB.search(text)
    ]

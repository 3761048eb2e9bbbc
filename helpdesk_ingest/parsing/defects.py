"""The email package's defect objects as short, stable strings."""

from __future__ import annotations

import re
from collections.abc import Iterable

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def defect_name(defect: object) -> str:
    """``MissingHeaderBodySeparatorDefect`` becomes ``missing-header-body-separator``."""
    name = type(defect).__name__.removesuffix("Defect") or type(defect).__name__
    return _CAMEL_BOUNDARY.sub("-", name).lower()


def defect_names(defects: Iterable[object]) -> list[str]:
    return [defect_name(defect) for defect in defects]

"""Which modules a piece of code loads, run in a fresh interpreter so nothing is loaded before."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

# Runs the code given, then prints the loaded modules that are, or are inside, the packages named.
_REPORT = """
import json, sys
code, packages = sys.argv[1], tuple(sys.argv[2:])
exec(code, {"__name__": "__loaded__"})
inside = tuple(name + "." for name in packages)
print(json.dumps(sorted(n for n in sys.modules if n in packages or n.startswith(inside))))
"""


def modules_loaded(code: str, packages: Sequence[str]) -> list[str]:
    """The modules of ``packages`` that running ``code`` in a new interpreter loads."""
    completed = subprocess.run(
        [sys.executable, "-c", _REPORT, code, *packages],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: list[str] = json.loads(completed.stdout)
    return loaded

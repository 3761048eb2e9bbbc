"""The `helpdesk-ingest` command and `python -m helpdesk_ingest`.

Deliberately light. Parse workers are fresh interpreters, and multiprocessing has each of them
import the module the daemon was started from, as `__mp_main__`: were that the CLI, every worker
would load the settings, the database and the scheduler code it never uses (some 35 MB each).
So the daemon's code is imported only once `main` runs, in the daemon alone. (Started as
`python -m helpdesk_ingest`, the workers skip this module altogether.)
"""

from __future__ import annotations

import sys


def main() -> int:
    from helpdesk_ingest.cli import main as run
    from helpdesk_ingest.collector import freeze_before_exit

    code = run()
    freeze_before_exit()
    return code


if __name__ == "__main__":
    sys.exit(main())

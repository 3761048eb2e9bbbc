"""Start a worker pool, print its workers' pids, then wait to be killed.

python -m tests.workers.orphan
"""

from __future__ import annotations

import sys
import time

from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.parsing import ParseLimits
from helpdesk_ingest.prepared import PrepareSettings
from helpdesk_ingest.workers import WorkerPool
from tests.workers.tasks import worker_pid

if __name__ == "__main__":
    pool = WorkerPool(
        PrepareSettings(ParseLimits(), HygieneSettings().own_mail()), 2, task=worker_pid
    )
    prepared = pool.submit([b"Subject: a\r\n\r\nx\r\n"] * 8).results()
    print("PIDS", " ".join(sorted({message.sha256 for message in prepared})), flush=True)
    sys.stdout.close()
    time.sleep(600)

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from helpdesk_ingest.devcerts import dovecot_ssha512, main


def test_writes_a_chain_the_ca_verifies_and_a_user_list_without_the_password(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "pop3_password"
    secret.write_text("trial-password\n", encoding="utf-8")
    out = tmp_path / "trial"
    assert main([str(out), "dovecot", "localhost", f"--dovecot-user=support:{secret}"]) == 0
    context = ssl.create_default_context(cafile=str(out / "ca.pem"))
    context.load_cert_chain(str(out / "server.pem"), str(out / "server.key"))
    users = (out / "users").read_text(encoding="utf-8")
    assert users.startswith("support:{SSHA512}")
    assert "trial-password" not in users
    assert oct((out / "server.key").stat().st_mode & 0o777) == "0o600"


def test_hash_is_accepted_by_dovecot() -> None:
    doveadm = shutil.which("doveadm")
    if doveadm is None:
        if os.environ.get("CI") == "true":
            pytest.fail("doveadm missing: install dovecot-pop3d (see .ci/run)")
        pytest.skip("doveadm missing: apt-get install dovecot-pop3d")
    hashed = dovecot_ssha512("correct horse")
    good = subprocess.run(
        [doveadm, "pw", "-t", hashed, "-p", "correct horse"], capture_output=True, check=False
    )
    bad = subprocess.run(
        [doveadm, "pw", "-t", hashed, "-p", "wrong horse"], capture_output=True, check=False
    )
    assert good.returncode == 0, good.stderr
    assert bad.returncode != 0

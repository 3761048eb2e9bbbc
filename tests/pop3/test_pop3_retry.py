"""Retry decisions: distinct per response code, backing off with jitter, long after [AUTH]."""

from __future__ import annotations

import random

import pytest

from helpdesk_ingest.pop3 import (
    Pop3AuthError,
    Pop3ConnectionError,
    Pop3InUseError,
    Pop3LoginDelayError,
    Pop3PlaintextRefused,
    Pop3ServerError,
    Pop3SysPermError,
    Pop3SysTempError,
    Pop3TlsError,
)
from helpdesk_ingest.pop3.errors import server_error
from helpdesk_ingest.pop3.retry import (
    AUTH_BASE_S,
    LONG_CAP_S,
    TEMPORARY_BASE_S,
    TEMPORARY_CAP_S,
    retry_decision,
)


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        ("[AUTH] bad password", Pop3AuthError),
        ("[SYS/TEMP] try later", Pop3SysTempError),
        ("[SYS/PERM] account disabled", Pop3SysPermError),
        ("[IN-USE] locked", Pop3InUseError),
        ("[LOGIN-DELAY] too soon", Pop3LoginDelayError),
        ("no code at all", Pop3ServerError),
    ],
)
def test_response_codes_map_to_distinct_exceptions(
    response: str, kind: type[Pop3ServerError]
) -> None:
    assert type(server_error("refused", response)) is kind


def test_each_code_has_its_own_event() -> None:
    errors = [
        server_error("x", "[AUTH] x"),
        server_error("x", "[SYS/TEMP] x"),
        server_error("x", "[SYS/PERM] x"),
        server_error("x", "[IN-USE] x"),
        server_error("x", "[LOGIN-DELAY] x"),
        Pop3TlsError("x"),
        Pop3ConnectionError("x"),
    ]
    events = [retry_decision(exc).event for exc in errors]
    assert len(set(events)) == len(events)


def test_temporary_errors_back_off_exponentially_with_jitter() -> None:
    rng = random.Random(7)
    delays = [retry_decision(Pop3SysTempError("x"), n, rng=rng).delay_s for n in range(1, 12)]
    for attempt, delay in enumerate(delays, 1):
        ceiling = min(TEMPORARY_CAP_S, TEMPORARY_BASE_S * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert delays[-1] > delays[0] * 8
    # Two daemons failing together do not come back together.
    other = [retry_decision(Pop3SysTempError("x"), 3, rng=random.Random(n)).delay_s for n in (1, 2)]
    assert other[0] != other[1]


def test_authentication_failures_pause_long_and_longer() -> None:
    rng = random.Random(1)
    first = retry_decision(Pop3AuthError("x"), 1, rng=rng)
    later = retry_decision(Pop3AuthError("x"), 20, rng=rng)
    assert first.retry
    assert first.delay_s >= AUTH_BASE_S / 2 >= 5 * 60
    assert LONG_CAP_S / 2 <= later.delay_s <= LONG_CAP_S
    # Never as often as a temporary failure.
    assert first.delay_s > retry_decision(Pop3SysTempError("x"), 1, rng=rng).delay_s


def test_login_delay_honours_the_announced_capability() -> None:
    decision = retry_decision(Pop3LoginDelayError("x"), login_delay_s=900)
    assert 900 <= decision.delay_s <= 990


def test_plaintext_refusal_is_not_retried() -> None:
    assert not retry_decision(Pop3PlaintextRefused("x")).retry

"""When to try a mailbox again after a failure, from the kind of failure (RFC 2449, RFC 3206).

Temporary trouble backs off exponentially with jitter, so many daemons do not return in step;
rejected credentials and certificate problems pause for long, because retrying every minute
only locks the account or fills the logs until an operator acts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from helpdesk_ingest.pop3.errors import (
    Pop3AuthError,
    Pop3InUseError,
    Pop3LoginDelayError,
    Pop3PlaintextRefused,
    Pop3SysPermError,
    Pop3SysTempError,
    Pop3TlsError,
)

TEMPORARY_BASE_S = 30.0
TEMPORARY_CAP_S = 30 * 60.0
IN_USE_BASE_S = 60.0
IN_USE_CAP_S = 15 * 60.0
LOGIN_DELAY_DEFAULT_S = 5 * 60.0
AUTH_BASE_S = 15 * 60.0
OPERATOR_BASE_S = 60 * 60.0
LONG_CAP_S = 6 * 60 * 60.0


@dataclass(frozen=True)
class RetryDecision:
    """Whether to try again by itself, after how long, why, and the log event that says so."""

    retry: bool
    delay_s: float
    reason: str
    event: str


def _backoff(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    ceiling = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    # "Equal jitter": at least half the step, so a retry never comes right back.
    return rng.uniform(ceiling / 2, ceiling)


def retry_decision(
    exc: BaseException,
    attempt: int = 1,
    *,
    login_delay_s: float | None = None,
    rng: random.Random | None = None,
) -> RetryDecision:
    """The decision after the ``attempt``-th failure in a row (1 for the first).

    ``login_delay_s`` overrides the LOGIN-DELAY capability the error carries from its session.
    """
    rng = rng or random.Random()
    if isinstance(exc, Pop3PlaintextRefused):
        return RetryDecision(
            False, 0.0, "credentials would cross the network unencrypted", "pop3_plaintext_refused"
        )
    if isinstance(exc, Pop3InUseError):
        delay = _backoff(attempt, IN_USE_BASE_S, IN_USE_CAP_S, rng)
        return RetryDecision(True, delay, "maildrop locked by another session", "pop3_in_use")
    if isinstance(exc, Pop3LoginDelayError):
        announced = login_delay_s if login_delay_s is not None else exc.announced_delay_s
        delay = max(announced or 0.0, LOGIN_DELAY_DEFAULT_S) * rng.uniform(1.0, 1.1)
        return RetryDecision(
            True, delay, "server asks for a pause between logins", "pop3_login_delay"
        )
    if isinstance(exc, Pop3SysTempError):
        delay = _backoff(attempt, TEMPORARY_BASE_S, TEMPORARY_CAP_S, rng)
        return RetryDecision(True, delay, "temporary server problem", "pop3_sys_temp")
    if isinstance(exc, Pop3SysPermError):
        delay = _backoff(attempt, OPERATOR_BASE_S, LONG_CAP_S, rng)
        return RetryDecision(
            True, delay, "server reports a lasting problem; needs an operator", "pop3_sys_perm"
        )
    if isinstance(exc, Pop3AuthError):
        delay = _backoff(attempt, AUTH_BASE_S, LONG_CAP_S, rng)
        return RetryDecision(
            True, delay, "credentials refused; check them before the next try", "pop3_auth_failed"
        )
    if isinstance(exc, Pop3TlsError):
        delay = _backoff(attempt, AUTH_BASE_S, LONG_CAP_S, rng)
        return RetryDecision(True, delay, "TLS could not be set up or verified", "pop3_tls_failed")
    delay = _backoff(attempt, TEMPORARY_BASE_S, TEMPORARY_CAP_S, rng)
    return RetryDecision(True, delay, "connection or server trouble", "pop3_unavailable")

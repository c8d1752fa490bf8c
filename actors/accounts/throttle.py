"""How long a sign-in must wait after failures.

Three counters guard sign-in, as OWASP suggests: failures for one address
from one client IP (someone guessing one account's password: after a few,
each failure doubles the wait, and past a limit the pair is locked for a
while), failures for one address from anywhere (a slower back-off that
never locks, so a third party failing on purpose cannot lock the owner
out), and failures from one client IP (someone trying many accounts).
Failures count from the last success (for an address: a successful sign-in
or a password reset) and fade out after `window`.

Each attempt is counted before its password is checked (storage/sign_in.py
holds the count under a row lock), so sixty guesses sent at once are judged
one after the other, not all against the same stale count.

The address counter is keyed by the address as typed and normalised, not by
account, so an unknown address is throttled exactly like a known one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottleRules:
    free_failures: int
    base_delay: timedelta
    max_delay: timedelta
    lock_after: int
    lock_for: timedelta
    window: timedelta

    def scaled(self, factor: float) -> ThrottleRules:
        """The same shape with every duration multiplied (tests use tiny ones)."""
        return ThrottleRules(
            free_failures=self.free_failures,
            base_delay=self.base_delay * factor,
            max_delay=self.max_delay * factor,
            lock_after=self.lock_after,
            lock_for=self.lock_for * factor,
            window=self.window * factor,
        )


PER_ACCOUNT = ThrottleRules(
    free_failures=3,
    base_delay=timedelta(seconds=2),
    max_delay=timedelta(seconds=60),
    lock_after=10,
    lock_for=timedelta(minutes=15),
    window=timedelta(minutes=30),
)

PER_ADDRESS = ThrottleRules(
    free_failures=10,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
    lock_after=2**31,
    lock_for=timedelta(0),
    window=timedelta(minutes=30),
)

PER_IP = ThrottleRules(
    free_failures=20,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=30),
    lock_after=100,
    lock_for=timedelta(minutes=15),
    window=timedelta(minutes=30),
)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    locked: bool = False
    retry_after: timedelta = timedelta(0)

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds for a Retry-After header, never zero when refused."""
        seconds = self.retry_after.total_seconds()
        return max(1, int(seconds) + (seconds % 1 > 0)) if not self.allowed else 0


ALLOWED = Verdict(allowed=True)


def verdict(
    rules: ThrottleRules, failures: int, last_failure: datetime | None, now: datetime
) -> Verdict:
    """May another attempt be made now, given `failures` recent failures?"""
    if failures <= rules.free_failures or last_failure is None:
        return ALLOWED
    if failures >= rules.lock_after:
        wait, locked = rules.lock_for, True
    else:
        steps = failures - rules.free_failures - 1
        wait, locked = min(rules.base_delay * (2**steps), rules.max_delay), False
    remaining = last_failure + wait - now
    if remaining <= timedelta(0):
        return ALLOWED
    return Verdict(allowed=False, locked=locked, retry_after=remaining)


def recent_failures(
    rules: ThrottleRules, failures: int, last_at: datetime | None, now: datetime
) -> int:
    """The failures that still count: none once the last is `window` old."""
    if last_at is None or now - last_at >= rules.window:
        return 0
    return failures


def pair_prefix(email: str) -> str:
    """What every (address, IP) key of this address starts with."""
    return f"pair:{email}|"


def pair_key(email: str, ip: str | None) -> str:
    return pair_prefix(email) + (ip or "")


def address_key(email: str) -> str:
    return f"address:{email}"


def ip_key(ip: str) -> str:
    return f"ip:{ip}"


def strictest(*verdicts: Verdict) -> Verdict:
    refused = [v for v in verdicts if not v.allowed]
    if not refused:
        return ALLOWED
    return max(refused, key=lambda v: (v.locked, v.retry_after))


@dataclass(frozen=True)
class MailLimit:
    """Emails sent on request (verification resends, reset links): at most
    `limit` per `window` for one key, and never two within `spacing`."""

    limit: int
    window: timedelta
    spacing: timedelta = timedelta(0)


PER_ADDRESS_MAIL = MailLimit(limit=5, window=timedelta(hours=1), spacing=timedelta(seconds=60))
PER_IP_MAIL = MailLimit(limit=30, window=timedelta(hours=1))
# Registration sends an email too (a link, or "you already have an account"),
# and costs a password rating and a hash: the same shape of limit, without
# the spacing, so a second try after a typo in the name is not refused.
REGISTER_PER_ADDRESS = MailLimit(limit=3, window=timedelta(hours=1))


def mail_wait(
    rule: MailLimit, sent: int, last_sent: datetime | None, now: datetime
) -> timedelta | None:
    """How long until another email may go out, or None when it may now.

    `sent` counts the emails in the last `rule.window`; the wait after hitting
    the limit is measured from the newest, a conservative bound that needs
    no per-email history.
    """
    if last_sent is None:
        return None
    waits = []
    if now - last_sent < rule.spacing:
        waits.append(last_sent + rule.spacing - now)
    if sent >= rule.limit:
        waits.append(last_sent + rule.window - now)
    waits = [w for w in waits if w > timedelta(0)]
    return max(waits) if waits else None

"""Alertmanager's wire formats, and posting them.

`WebhookMessage` is the body Alertmanager sends its webhook receivers
(version 4), so any receiver written for Alertmanager takes ours as is.
`PostableAlert` is what Alertmanager's own API takes (`POST /api/v2/alerts`):
a firing alert is re-posted while it fires, each time with an `endsAt` a
few evaluations ahead, and posted once more with the time it resolved.
"""

from __future__ import annotations

from datetime import datetime

import aiohttp
import msgspec

# Alertmanager's "no end yet" in webhook bodies (Go's zero time).
ZERO_TIME = "0001-01-01T00:00:00Z"


class AmAlert(msgspec.Struct, kw_only=True):
    status: str  # firing or resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: str
    endsAt: str = ZERO_TIME
    generatorURL: str = ""
    fingerprint: str


class WebhookMessage(msgspec.Struct, kw_only=True):
    version: str = "4"
    groupKey: str
    truncatedAlerts: int = 0
    status: str
    receiver: str
    groupLabels: dict[str, str]
    commonLabels: dict[str, str]
    commonAnnotations: dict[str, str]
    externalURL: str
    alerts: list[AmAlert]


class PostableAlert(msgspec.Struct, kw_only=True, omit_defaults=True):
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str | None = None


def timestamp(at: datetime) -> str:
    """RFC 3339 in UTC, as Alertmanager writes it."""
    return at.isoformat().replace("+00:00", "Z")


def common(maps: list[dict[str, str]]) -> dict[str, str]:
    """The pairs every map shares (Alertmanager's commonLabels/commonAnnotations)."""
    if not maps:
        return {}
    shared = dict(maps[0])
    for other in maps[1:]:
        shared = {k: v for k, v in shared.items() if other.get(k) == v}
    return shared


class DeliveryFailed(Exception):
    """The receiver did not take the body; worth retrying later."""


async def post_json(
    session: aiohttp.ClientSession, url: str, body: bytes, *, seconds: float = 10.0
) -> None:
    """POST a JSON body; DeliveryFailed unless the receiver answers 2xx."""
    try:
        async with session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=seconds),
        ) as response:
            if response.status // 100 != 2:
                text = (await response.text())[:200]
                raise DeliveryFailed(f"{url} answered {response.status}: {text}")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise DeliveryFailed(f"{url}: {exc!r}") from exc


def alerts_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/api/v2/alerts"

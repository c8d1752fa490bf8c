"""The client's address behind trusted reverse proxies (RATELINE_TRUSTED_PROXIES)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from actors.accounts.throttle import ThrottleRules
from ops.config import ConfigError, Settings
from server.cli import main
from server.client_address import client_address, trusted_networks
from storage.database import Database
from tests.support.accounts import build_app, make_accounts

PROXIES = trusted_networks("10.0.0.0/8, 192.0.2.1, 2001:db8:f00::/48")


# --- the pure rule -------------------------------------------------------------------


def test_an_untrusted_peer_is_the_client_whatever_the_header_says() -> None:
    assert client_address("203.0.113.5", ["198.51.100.1"], PROXIES) == "203.0.113.5"
    assert client_address("203.0.113.5", ["198.51.100.1"], ()) == "203.0.113.5"
    assert client_address(None, ["198.51.100.1"], PROXIES) is None


def test_a_trusted_peer_gives_the_right_most_untrusted_entry() -> None:
    assert client_address("192.0.2.1", ["198.51.100.7"], PROXIES) == "198.51.100.7"
    chain = ["198.51.100.7, 10.1.2.3", " 10.9.9.9 "]
    assert client_address("10.0.0.1", chain, PROXIES) == "198.51.100.7"


def test_a_spoofed_left_most_entry_is_not_taken() -> None:
    # The client wrote "1.2.3.4" itself; the proxy appended the real peer.
    assert client_address("10.0.0.1", ["1.2.3.4, 198.51.100.7"], PROXIES) == "198.51.100.7"
    assert client_address("10.0.0.1", ["10.0.0.5", "198.51.100.7"], PROXIES) == "198.51.100.7"


def test_garbage_stops_the_walk_at_the_last_trusted_hop() -> None:
    assert client_address("10.0.0.1", ["198.51.100.7, nonsense"], PROXIES) == "10.0.0.1"
    assert client_address("10.0.0.1", ["unknown, 10.4.4.4"], PROXIES) == "10.4.4.4"
    assert client_address("10.0.0.1", ["1.2.3.4:5678"], PROXIES) == "10.0.0.1"
    assert client_address("10.0.0.1", [""], PROXIES) == "10.0.0.1"


def test_all_trusted_gives_the_left_most_and_no_header_the_peer() -> None:
    assert client_address("10.0.0.1", ["10.3.3.3, 10.2.2.2"], PROXIES) == "10.3.3.3"
    assert client_address("10.0.0.1", [], PROXIES) == "10.0.0.1"


def test_ipv6_and_cidr() -> None:
    assert client_address("2001:db8:f00::1", ["2001:DB8:1::0001"], PROXIES) == "2001:db8:1::1"
    assert client_address("2001:db8:f01::1", ["198.51.100.7"], PROXIES) == "2001:db8:f01::1"
    assert client_address("10.255.0.1", ["198.51.100.7"], PROXIES) == "198.51.100.7"
    assert client_address("11.0.0.1", ["198.51.100.7"], PROXIES) == "11.0.0.1"
    # A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d.
    assert client_address("::ffff:10.0.0.1", ["198.51.100.7"], PROXIES) == "198.51.100.7"


@pytest.mark.parametrize(
    ("setting", "bad"),
    [
        ("10.0.0.1, nginx", "'nginx'"),
        ("10.0.0.0/33", "'10.0.0.0/33'"),
        ("10.0.0.1/8", "10.0.0.0/8"),
    ],
)
def test_a_bad_entry_names_the_variable_and_the_entry(setting: str, bad: str) -> None:
    with pytest.raises(ConfigError, match="RATELINE_TRUSTED_PROXIES") as error:
        trusted_networks(setting)
    assert bad in str(error.value)


def test_serve_refuses_a_bad_entry_before_starting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RATELINE_TRUSTED_PROXIES", "10.0.0.1,proxy.internal")
    assert main(["serve"]) == 2
    assert "RATELINE_TRUSTED_PROXIES: 'proxy.internal'" in capsys.readouterr().err


# --- sign-in throttling over HTTP ----------------------------------------------------

# Per client address: two failures are free; after the third, an hour's wait.
TIGHT_PER_IP = ThrottleRules(
    free_failures=2,
    base_delay=timedelta(hours=1),
    max_delay=timedelta(hours=1),
    lock_after=1000,
    lock_for=timedelta(hours=1),
    window=timedelta(hours=1),
)


async def fail_sign_ins(http: TestClient, forwarded_for: str, tries: int) -> list[int]:
    """Failed sign-ins, each for a fresh address so only the per-IP counter grows."""
    statuses = []
    for _ in range(tries):
        response = await http.post(
            "/api/auth/login",
            json={"email": f"{uuid.uuid4().hex}@example.com", "password": "wrong-guess-00"},
            headers={"X-Forwarded-For": forwarded_for},
        )
        statuses.append(response.status)
    return statuses


async def test_behind_a_trusted_proxy_each_client_has_its_own_throttle(
    db: Database, settings: Settings, aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    configured = settings.replace(trusted_proxies="127.0.0.1")
    http = await aiohttp_client(
        build_app(configured, make_accounts(configured, per_ip=TIGHT_PER_IP), None)
    )
    caplog.set_level(logging.INFO, logger="rateline.access")

    assert await fail_sign_ins(http, "203.0.113.7", 4) == [401, 401, 401, 429]
    assert await fail_sign_ins(http, "198.51.100.9", 3) == [401, 401, 401], (
        "another client behind the same proxy is not throttled"
    )
    # A client cannot dodge its throttle by writing another address on the left.
    assert await fail_sign_ins(http, "192.0.2.55, 203.0.113.7", 1) == [429]

    ips = {row["ip"] for row in await db.pool.fetch("SELECT ip FROM security_events")}
    assert ips == {"203.0.113.7", "198.51.100.9"}
    logged = {r.__dict__.get("remote") for r in caplog.records if r.name == "rateline.access"}
    assert {"203.0.113.7", "198.51.100.9"} <= logged


async def test_without_trusted_proxies_the_header_is_ignored(
    db: Database, settings: Settings, aiohttp_client: Any
) -> None:
    assert settings.trusted_proxies == ""
    http = await aiohttp_client(
        build_app(settings, make_accounts(settings, per_ip=TIGHT_PER_IP), None)
    )
    statuses = [(await fail_sign_ins(http, f"198.51.100.{n}", 1))[0] for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429], "a spoofed header must not dodge the throttle"
    ips = {row["ip"] for row in await db.pool.fetch("SELECT ip FROM security_events")}
    assert ips == {"127.0.0.1"}

"""Webhook intake: Rateline's /api/payments/webhook against a bare handler.

    python -m bench.payments [--events 2000] [--duplicates 0.3] [--senders 16]

Both servers run in this process on the same loop as the senders, against
one embedded PostgreSQL. The baseline is the least a correct intake can do:
an aiohttp handler that verifies the Stripe signature and INSERTs the event
id. Rateline verifies, stores the event, answers, and its payment actor then
re-reads each PaymentIntent from Stripe (localstripe, started here),
records the payment and queues the receipt. Intake is timed to the last
answer; the effects are counted once the actor has drained, and must equal
the distinct events.

Prints a table and writes bench/results/payments.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from ops.config import Settings
from protocols.stripe_adapter import BadSignature, sign_webhook, verify_webhook
from storage.database import Database

RESULTS = Path(__file__).parent / "results" / "payments.json"
SECRET_KEY = "sk_test_bench"
WEBHOOK_SECRET = "whsec_bench"
TARGET_RATIO = 0.5
_LAUNCH = (
    "import sys, localstripe.resources as r; r.Store.dump_to_disk = lambda self: None; "
    "from localstripe.server import start; "
    "sys.argv = ['localstripe', '--from-scratch', '--port', sys.argv[1]]; start()"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for_port(port: int) -> None:
    for _ in range(400):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# -- setup ------------------------------------------------------------------------


async def paid_intents(stripe_url: str, count: int) -> list[str]:
    """`count` PaymentIntents paid at localstripe, one customer, one card."""
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}
    async with aiohttp.ClientSession(headers=headers) as http:

        async def post(path: str, data: dict[str, str]) -> dict[str, Any]:
            async with http.post(stripe_url + path, data=data) as response:
                body: dict[str, Any] = await response.json()
                return body

        customer = (await post("/v1/customers", {"email": "bench@example.com"}))["id"]
        card = {"card[number]": "4242424242424242", "card[exp_month]": "12"}
        card |= {"card[exp_year]": "2034", "card[cvc]": "123", "type": "card"}
        method = (await post("/v1/payment_methods", card))["id"]
        await post(f"/v1/payment_methods/{method}/attach", {"customer": customer})
        ids: list[str] = []
        for _ in range(count):
            intent = await post(
                "/v1/payment_intents",
                {
                    "amount": "1900",
                    "currency": "usd",
                    "customer": customer,
                    "payment_method": method,
                    "confirm": "true",
                },
            )
            ids.append(intent["id"])
        return ids


async def local_payments(db: Database, intents: list[str]) -> None:
    user = await db.pool.fetchval(
        "INSERT INTO users (email, name) VALUES ('bench@example.com', 'Bench') RETURNING id"
    )
    await db.pool.executemany(
        """INSERT INTO payments (user_id, plan_code, amount_cents, currency, payment_intent_id)
        VALUES ($1, 'rate_report', 1900, 'usd', $2)""",
        [(user, intent) for intent in intents],
    )


def deliveries(intents: list[str], total: int, seed: int = 7) -> list[bytes]:
    """Event bodies: one per intent, then repeats up to `total`, shuffled."""
    rng = random.Random(seed)
    events = [
        orjson.dumps(
            {
                "id": f"evt_{uuid.uuid4().hex[:24]}",
                "object": "event",
                "type": "payment_intent.succeeded",
                "created": int(time.time()),
                "data": {"object": {"id": intent, "object": "payment_intent"}},
            }
        )
        for intent in intents
    ]
    bodies = events + [rng.choice(events) for _ in range(total - len(events))]
    rng.shuffle(bodies)
    return bodies


# -- the baseline ------------------------------------------------------------------


def baseline_app(db: Database) -> web.Application:
    async def webhook(request: web.Request) -> web.Response:
        payload = await request.read()
        try:
            verify_webhook(payload, request.headers.get("Stripe-Signature"), WEBHOOK_SECRET)
        except BadSignature:
            return web.Response(status=400)
        event_id = orjson.loads(payload)["id"]
        await db.pool.execute(
            "INSERT INTO bench_events (id) VALUES ($1) ON CONFLICT DO NOTHING", event_id
        )
        return web.json_response({"received": True})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    return app


# -- sending -----------------------------------------------------------------------


async def send_all(url: str, bodies: list[bytes], senders: int) -> dict[str, Any]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    failures = 0

    async def sender(http: aiohttp.ClientSession) -> None:
        nonlocal failures
        while not queue.empty():
            body = queue.get_nowait()
            headers = {
                "Stripe-Signature": sign_webhook(body, WEBHOOK_SECRET),
                "Content-Type": "application/json",
            }
            start = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                failures += response.status != 200
            latencies.append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=senders)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()
        await asyncio.gather(*(sender(http) for _ in range(senders)))
        seconds = time.perf_counter() - start
    latencies.sort()
    return {
        "events": len(bodies),
        "seconds": round(seconds, 3),
        "events_per_s": round(len(bodies) / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "failures": failures,
    }


async def serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def drained(db: Database, limit: float = 600.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        if not await db.pool.fetchval(
            "SELECT count(*) FROM payment_events WHERE applied_at IS NULL"
        ):
            break
        await asyncio.sleep(0.2)
    return time.perf_counter() - start


# -- the run -----------------------------------------------------------------------


async def run(
    total: int, duplicates: float, senders: int, stripe_port: int, folder: Path
) -> dict[str, Any]:
    from server.app import create_app

    distinct = round(total * (1 - duplicates))
    stripe_url = f"http://127.0.0.1:{stripe_port}"
    db = await Database.open(url=None, data_dir=folder / "pg", min_size=1, max_size=4)
    try:
        await db.pool.execute("CREATE TABLE bench_events (id text PRIMARY KEY)")
        await wait_for_port(stripe_port)
        print(f"setting up {distinct} paid PaymentIntents at localstripe ...", flush=True)
        intents = await paid_intents(stripe_url, distinct)
        await local_payments(db, intents)

        runner, port = await serve(baseline_app(db))
        baseline = await send_all(
            f"http://127.0.0.1:{port}/webhook", deliveries(intents, total, seed=1), senders
        )
        await runner.cleanup()
        baseline["effects"] = await db.pool.fetchval("SELECT count(*) FROM bench_events")

        settings = Settings.from_env(
            {},
            database_url=db.dsn,
            data_dir=folder,
            db_pool_min=1,
            db_pool_max=10,
            stripe_secret_key=SECRET_KEY,
            stripe_webhook_secret=WEBHOOK_SECRET,
            stripe_api_base=stripe_url,
            payments_reconcile_seconds=3600.0,
        )
        runner, port = await serve(create_app(settings))
        rateline = await send_all(
            f"http://127.0.0.1:{port}/api/payments/webhook",
            deliveries(intents, total, seed=2),
            senders,
        )
        rateline["drain_seconds"] = round(await drained(db), 2)
        rateline["effects"] = await db.pool.fetchval(
            "SELECT count(*) FROM payments WHERE status = 'succeeded'"
        )
        rateline["receipts"] = await db.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE template = 'payment_receipt'"
        )
        await runner.cleanup()
    finally:
        await db.close()
    ratio = rateline["events_per_s"] / baseline["events_per_s"]
    exactly_once = rateline["effects"] == rateline["receipts"] == distinct
    return {
        "events": total,
        "distinct": distinct,
        "senders": senders,
        "baseline": baseline,
        "rateline": rateline,
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "exactly_once": exactly_once,
        "met": ratio >= TARGET_RATIO and exactly_once,
    }


def report(result: dict[str, Any]) -> None:
    header = (
        f"{'handler':<10} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'effects':>8} {'failed':>7}"
    )
    print(header)
    print("-" * len(header))
    for name in ("baseline", "rateline"):
        row = result[name]
        print(
            f"{name:<10} {row['events_per_s']:>10} {row['p50_ms']:>8} {row['p99_ms']:>8}"
            f" {row['effects']:>8} {row['failures']:>7}"
        )
    rateline = result["rateline"]
    print(
        f"\n{result['events']} events, {result['distinct']} distinct, {result['senders']} senders;"
        f" ratio {result['ratio']} (target >= {TARGET_RATIO});"
        f" effects {rateline['effects']}, receipts {rateline['receipts']}"
        f" (exactly once: {result['exactly_once']}), actor drained in {rateline['drain_seconds']} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--duplicates", type=float, default=0.3)
    parser.add_argument("--senders", type=int, default=16)
    args = parser.parse_args()
    started = time.time()
    folder = Path(tempfile.mkdtemp(prefix="rateline-bench-"))
    stripe_port = free_port()
    stripe = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, str(stripe_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        result = asyncio.run(run(args.events, args.duplicates, args.senders, stripe_port, folder))
    finally:
        stripe.terminate()
        stripe.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    report(result)
    result["seconds"] = round(time.time() - started, 1)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

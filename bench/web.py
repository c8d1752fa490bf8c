"""Cold load of the rates page in headless Chromium, against the least page
that can show a rate.

    python -m bench.web [--rounds 15]

A real `rateline serve` (embedded PostgreSQL in a temporary folder, or
DATABASE_URL when set) runs on a free loopback port. Each round opens a fresh
browser context (nothing cached) and measures, from navigation start to the
first rate painted:

  baseline   a minimal static page, served apart, that opens /ws, subscribes
             to `rates` and writes the snapshot's first rate
  rateline   the web app's rates page (/), which draws from GET /api/rates and
             then goes live over /ws

Bytes transferred are the document's and its resources' transfer sizes as
the browser counts them (WebSocket frames are not resources and are left
out for both). The two pages alternate so drift on this shared machine falls
on both. Targets: time to first rate <= 1.5x the baseline; <= 150 KB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

RESULTS = Path(__file__).parent / "results" / "web.json"
TIME_TARGET = 1.5
BYTES_TARGET = 150 * 1024
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

BASELINE_PAGE = """<!doctype html><meta charset="utf-8"><title>baseline</title>
<p id="rate">…</p>
<script>
const ws = new WebSocket("ws://127.0.0.1:%d/ws");
ws.onopen = () => ws.send(JSON.stringify({op: "subscribe", channel: "rates"}));
ws.onmessage = (event) => {
  const frame = JSON.parse(event.data);
  if (frame.op !== "snapshot") return;
  document.getElementById("rate").textContent = frame.data.rates[0].rate;
};
</script>"""

# Notes the moment a rate first appears, whichever page this is.
WATCH_FIRST_RATE = """
new MutationObserver((_, observer) => {
  const shown = document.querySelector("[data-field=rate], #rate");
  if (shown && /\\d/.test(shown.textContent)) {
    window.firstRate = performance.now();
    observer.disconnect();
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""

TRANSFERRED = """() => performance.getEntriesByType("navigation")
  .concat(performance.getEntriesByType("resource"))
  .reduce((sum, entry) => sum + entry.transferSize, 0)"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError("rateline serve exited during start-up")
            try:
                async with http.get(base + "/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("rateline serve was not ready in 60 s")


async def measure(browser: Any, url: str) -> tuple[float, int]:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.add_init_script(WATCH_FIRST_RATE)
        await page.goto(url)
        await page.wait_for_function("window.firstRate !== undefined", timeout=15_000)
        first: float = await page.evaluate("window.firstRate")
        await page.wait_for_load_state("networkidle")
        transferred: int = await page.evaluate(TRANSFERRED)
        return first, transferred
    finally:
        await context.close()


@contextmanager
def rateline_server() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`rateline serve` on a free port with a data folder of its own."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="rateline-bench-web-") as data:
        os.chmod(data, 0o755)  # the embedded server may run as its own user
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--data-dir", data],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield port, process
        finally:
            process.terminate()
            process.wait(timeout=30)


async def run(rounds: int, port: int, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    base = f"http://127.0.0.1:{port}"
    page = BASELINE_PAGE % port
    baseline_app = web.Application()
    baseline_app.router.add_get("/", lambda _: web.Response(text=page, content_type="text/html"))
    runner = web.AppRunner(baseline_app)
    try:
        await wait_ready(base, process)
        await runner.setup()
        baseline_port = free_port()
        await web.TCPSite(runner, "127.0.0.1", baseline_port).start()
        urls = {"baseline": f"http://127.0.0.1:{baseline_port}/", "rateline": base + "/"}
        samples: dict[str, list[tuple[float, int]]] = {name: [] for name in urls}
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for url in urls.values():  # warm the servers once
                await measure(browser, url)
            for _ in range(rounds):
                for name, url in urls.items():
                    samples[name].append(await measure(browser, url))
            await browser.close()
    finally:
        await runner.cleanup()
    return summarise(samples)


def summarise(samples: dict[str, list[tuple[float, int]]]) -> dict[str, Any]:
    rows = {}
    for name, values in samples.items():
        times = sorted(t for t, _ in values)
        rows[name] = {
            "first_rate_ms_median": round(statistics.median(times), 1),
            "first_rate_ms_p90": round(times[int(0.9 * (len(times) - 1))], 1),
            "bytes_median": int(statistics.median(b for _, b in values)),
        }
    ratios = [r[0] / b[0] for r, b in zip(samples["rateline"], samples["baseline"], strict=True)]
    time_ratio = rows["rateline"]["first_rate_ms_median"] / rows["baseline"]["first_rate_ms_median"]
    return {
        "rows": rows,
        "time_ratio_of_medians": round(time_ratio, 2),
        "time_ratio_median_of_rounds": round(statistics.median(ratios), 2),
        "time_ratio_range": [round(min(ratios), 2), round(max(ratios), 2)],
        "time_target": TIME_TARGET,
        "bytes_target": BYTES_TARGET,
        "time_met": time_ratio <= TIME_TARGET,
        "bytes_met": rows["rateline"]["bytes_median"] <= BYTES_TARGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("bench.web needs Debian's Chromium: apt-get install chromium")
    started = time.perf_counter()
    with rateline_server() as (port, process):
        result = asyncio.run(run(args.rounds, port, process))
    print(f"{'page':<10} {'first rate p50 ms':>18} {'p90 ms':>8} {'bytes':>9}")
    for name, row in result["rows"].items():
        print(
            f"{name:<10} {row['first_rate_ms_median']:>18} {row['first_rate_ms_p90']:>8}"
            f" {row['bytes_median']:>9}"
        )
    print(
        f"time to first rate: {result['time_ratio_of_medians']}x the baseline"
        f" (median of rounds {result['time_ratio_median_of_rounds']},"
        f" range {result['time_ratio_range'][0]}–{result['time_ratio_range'][1]});"
        f" target <= {TIME_TARGET}x: {'met' if result['time_met'] else 'not met'}"
    )
    print(
        f"transferred: {result['rows']['rateline']['bytes_median']} bytes;"
        f" target <= {BYTES_TARGET}: {'met' if result['bytes_met'] else 'not met'}"
    )
    result["rounds"] = args.rounds
    result["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()

"""`rateline serve` as an operator runs it: a fresh folder, no configuration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.support.cli import rateline
from tests.support.net import free_port


def wait_for_health(url: str, process: subprocess.Popen[bytes], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {limit} s")


def test_serve_starts_from_nothing_refuses_a_twin_and_stops_cleanly(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["RATELINE_SIM_INTERVAL"] = "0.2"
    port = free_port()
    data = data_dir / "data"
    first = subprocess.Popen(
        rateline("serve", "--port", str(port), "--data-dir", str(data)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/healthz", first)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
            assert json.load(ready)["status"] == "ready"

        twin = subprocess.run(
            rateline("serve", "--port", str(free_port()), "--data-dir", str(data)),
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert twin.returncode != 0
        assert b"is in use by rateline pid" in twin.stderr

        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    logs = [json.loads(line) for line in first.stderr.read().decode().splitlines() if line]
    assert any(entry["message"] == "serving" for entry in logs)
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in logs)

    migrated = subprocess.run(
        rateline("migrate", "--data-dir", str(data)), env=env, capture_output=True, timeout=60
    )
    assert migrated.returncode == 0, migrated.stderr.decode()
    assert b"schema is current" in migrated.stdout

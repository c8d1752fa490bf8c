"""The `rateline` command as a subprocess, and the requests the fault tests
send it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ops.config import Settings


def rateline(*args: str) -> list[str]:
    """The command line of `rateline ARGS...` in this interpreter."""
    return [sys.executable, "-m", "server.cli", *args]


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "RATELINE_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.run(
        rateline(*args),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )


PURCHASE = {
    "price": "450000",
    "down_payment": "45000",
    "credit_score": 700,
    "state": "CA",
    "annual_income": "160000",
    "monthly_debts": "400",
}
CALCULATE = "/api/mortgage/calculate"

# These tests call the calculation route far more often than one anonymous
# client may: lift the per-IP allowance where the server has one.
UNLIMITED = {"RATELINE_ANON_REQUESTS_PER_MINUTE": "0", "RATELINE_ANON_REQUESTS_PER_DAY": "0"}

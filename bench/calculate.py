"""The calculation engine against its peers, and /api/mortgage/calculate under load.

    python -m bench.calculate [--rounds N] [--block N]
                              [--no-load] [--load-rate R] [--load-seconds S]

Engine section, all contenders measured in the same run, taking turns in
short blocks so a slow phase of the shared machine hits each of them alike:

  schedule     rateline   actors.calculation.amortization.amortize, 360 months
               mortgagemath  amortization_schedule (Decimal, half-up payment,
                          round-each balance: the same rules), the fair peer
               npf.pmt    numpy-financial's float payment alone: the floor,
                          a single float formula with no schedule at all
  apr          rateline   the Appendix J APR of a 360-payment loan, from
                          dated payments the way POST /api/mortgage/apr runs
               direct     mortgage_apr_runs on the same 360 amounts (no dates)
  response     rateline   the whole amortization body: engine, 360 response
                          rows and JSON encoding (informational)

Targets: schedule no slower than mortgagemath's and under 1 ms; APR under
5 ms. Figures are medians of per-call times over the rounds; ratios are
quoted because absolute times drift on a shared machine.

Load section (bench/calculate_load.py): a real server process on a free
port (embedded PostgreSQL in a temporary folder, or DATABASE_URL), driven
by an aiohttp client pool in another process: GET /healthz as the baseline,
then /api/mortgage/calculate at a fixed 100 requests/s (open loop) and
closed loop at full speed, for distinct buyers and for repeating ones.
Reported: requests/s, p50/p99 latency and server CPU per request (psutil,
the server process's CPU time over the phase / requests answered). Targets:
at most 5 ms of server CPU per request and p99 under 100 ms at 100/s.

Results are printed as a table and written to bench/results/calculate.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import mortgagemath
import msgspec
import numpy_financial as npf
import orjson

from actors.calculation import service
from actors.calculation.amortization import BALANCE, INTEREST, PAYMENT, PRINCIPAL, amortize
from actors.calculation.apr import mortgage_apr_runs
from protocols.api.mortgage import AmortizationRequest, AprRequest, PaymentGroup

RESULTS = Path(__file__).parent / "results" / "calculate.json"

PRINCIPAL_AMOUNT = "200000"
RATE = "6.5"
TERM = 360
SCHEDULE_TARGET_MS = 1.0
APR_TARGET_MS = 5.0


def _time_block(call: Callable[[], object], block: int) -> float:
    started = time.perf_counter()
    for _ in range(block):
        call()
    return (time.perf_counter() - started) / block


def measure(
    contenders: dict[str, Callable[[], object]], rounds: int, block: int
) -> dict[str, float]:
    """Median seconds per call of each contender, taking turns every block."""
    for call in contenders.values():
        call()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, call in contenders.items():
            samples[name].append(_time_block(call, block))
    return {name: statistics.median(values) for name, values in samples.items()}


def _check_same_schedule() -> None:
    """The comparison is only fair if both produce the same cents."""
    loan = _mortgagemath_loan()
    theirs = mortgagemath.amortization_schedule(loan)[1:]
    ours = amortize(Decimal(PRINCIPAL_AMOUNT), Decimal(RATE), TERM).rows
    mine = [(r[PAYMENT], r[PRINCIPAL], r[INTEREST], r[BALANCE]) for r in ours]
    other = [(i.payment, i.principal, i.interest, i.balance) for i in theirs]
    if mine != other:
        raise SystemExit(
            "rateline and mortgagemath disagree; the timing would compare different work"
        )


def _mortgagemath_loan() -> mortgagemath.LoanParams:
    return mortgagemath.fixed_rate_mortgage(
        PRINCIPAL_AMOUNT,
        RATE,
        TERM // 12,
        payment_rounding=mortgagemath.PaymentRounding.ROUND_HALF_UP,
    )


def run_engine(rounds: int, block: int) -> dict[str, Any]:
    _check_same_schedule()
    principal, rate = Decimal(PRINCIPAL_AMOUNT), Decimal(RATE)
    loan = _mortgagemath_loan()
    schedule = measure(
        {
            "rateline": lambda: amortize(principal, rate, TERM),
            "mortgagemath": lambda: mortgagemath.amortization_schedule(loan),
            "npf.pmt": lambda: npf.pmt(6.5 / 1200, TERM, 200000.0),
        },
        rounds,
        block,
    )

    rows = amortize(principal, rate, TERM).rows
    amounts = [row[PAYMENT] for row in rows]
    runs = [(amounts[0], TERM - 1), (amounts[-1], 1)]
    financed = principal - Decimal("5500")  # two points and a 1,500 fee
    apr_request = AprRequest(
        amount_financed=financed,
        advance_date=dt.date(2026, 1, 15),
        payments=[
            PaymentGroup(amount=amounts[0], first_date=dt.date(2026, 2, 15), count=TERM - 1),
            PaymentGroup(amount=amounts[-1], first_date=dt.date(2056, 1, 15), frequency="single"),
        ],
    )
    apr_result = service.apr(apr_request)
    apr = measure(
        {
            "rateline": lambda: service.apr(apr_request),
            "direct": lambda: mortgage_apr_runs(financed, runs),
        },
        rounds,
        max(1, block // 4),
    )

    amortization_request = AmortizationRequest(
        principal=principal, annual_rate=rate, term_months=TERM
    )
    today = dt.date(2026, 1, 15)
    response = measure(
        {
            "rateline": lambda: msgspec.json.encode(
                service.amortization(amortization_request, today=today)
            )
        },
        rounds,
        max(1, block // 4),
    )

    ms = 1000.0
    return {
        "schedule_360": {
            "rateline_ms": schedule["rateline"] * ms,
            "mortgagemath_ms": schedule["mortgagemath"] * ms,
            "npf_pmt_ms": schedule["npf.pmt"] * ms,
            "ratio_vs_mortgagemath": schedule["rateline"] / schedule["mortgagemath"],
            "ratio_vs_npf_pmt": schedule["rateline"] / schedule["npf.pmt"],
            "target_ms": SCHEDULE_TARGET_MS,
            "meets_target": schedule["rateline"] <= schedule["mortgagemath"]
            and schedule["rateline"] * ms < SCHEDULE_TARGET_MS,
        },
        "apr_360": {
            "rateline_ms": apr["rateline"] * ms,
            "direct_ms": apr["direct"] * ms,
            "apr": str(apr_result.apr),
            "target_ms": APR_TARGET_MS,
            "meets_target": apr["rateline"] * ms < APR_TARGET_MS,
        },
        "amortization_body_360": {"rateline_ms": response["rateline"] * ms},
    }


def run_load(args: argparse.Namespace) -> dict[str, Any] | None:
    """POST /api/mortgage/calculate against a `rateline serve` process, driven
    from another process (bench.calculate_load); None with --no-load."""
    if args.no_load:
        return None
    from bench import calculate_load

    return calculate_load.run(rate=args.load_rate, seconds=args.load_seconds)


def _environment() -> dict[str, Any]:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "mortgagemath": version("mortgagemath"),
        "numpy-financial": version("numpy-financial"),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _table(engine: dict[str, Any]) -> str:
    s, a, b = engine["schedule_360"], engine["apr_360"], engine["amortization_body_360"]
    lines = [
        f"{'measure':<34}{'rateline':>12}{'baseline':>14}{'ratio':>9}  target",
        f"{'360-month schedule vs mortgagemath':<34}{s['rateline_ms']:>10.3f}ms"
        f"{s['mortgagemath_ms']:>12.3f}ms{s['ratio_vs_mortgagemath']:>9.2f}  "
        f"<= mortgagemath and < {s['target_ms']} ms: {'met' if s['meets_target'] else 'MISSED'}",
        f"{'360-month schedule vs npf.pmt':<34}{s['rateline_ms']:>10.3f}ms"
        f"{s['npf_pmt_ms']:>12.4f}ms{s['ratio_vs_npf_pmt']:>9.1f}  (the float floor)",
        f"{'APR, 360 dated payments':<34}{a['rateline_ms']:>10.3f}ms"
        f"{a['direct_ms']:>12.3f}ms{a['rateline_ms'] / a['direct_ms']:>9.2f}  "
        f"< {a['target_ms']} ms: {'met' if a['meets_target'] else 'MISSED'}  (APR {a['apr']}%)",
        f"{'amortization body incl. JSON':<34}{b['rateline_ms']:>10.3f}ms",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.calculate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=30, help="turns each contender takes")
    parser.add_argument("--block", type=int, default=40, help="calls per turn")
    parser.add_argument("--no-load", action="store_true", help="the engine section only")
    parser.add_argument("--load-rate", type=float, default=100.0, help="fixed-rate requests/s")
    parser.add_argument("--load-seconds", type=float, default=10.0, help="fixed-rate duration")
    args = parser.parse_args(argv)

    engine = run_engine(args.rounds, args.block)
    load = run_load(args)
    print(_table(engine))
    if load is None:
        print("load test of /api/mortgage/calculate: not run (--no-load)")
    else:
        from bench.calculate_load import table

        print(table(load))
    results = {
        "environment": _environment(),
        "engine": engine,
        "load": load if load is not None else {"status": "not measured"},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"written to {RESULTS}")
    meets = engine["schedule_360"]["meets_target"] and engine["apr_360"]["meets_target"]
    if load is not None:
        meets = meets and all(t["cpu_met"] and t["p99_met"] for t in load["targets"].values())
    return 0 if meets else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""What `bench.fanout` prints: the table of contenders, Rateline's ratios to
the baselines, and the medians over rounds."""

from __future__ import annotations

import statistics
from typing import Any


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        (
            "contender",
            "clients",
            "cpu µs/msg burst",
            "cpu µs/msg fixed",
            "burst msg/s",
            "p50 ms",
            "p99 ms",
            "KiB/conn",
            "after traffic",
            "client µs/msg",
        )
    ]
    for r in results:
        rows.append(
            (
                r["contender"],
                f"{int(r['connected'])}",
                f"{r['burst']['cpu_us_per_delivered']:.2f}",
                f"{r['fixed']['cpu_us_per_delivered']:.2f}",
                f"{r['burst']['delivered_per_second']:,.0f}",
                f"{r['fixed']['p50_ms']:.1f}",
                f"{r['fixed']['p99_ms']:.1f}",
                f"{r['memory_kib_per_connection']:.1f}",
                f"{r['memory_kib_per_connection_after']:.1f}",
                f"{r['fixed']['client_cpu_us_per_delivered']:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def p99_by_round(rounds: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Each contender's fixed-rate p99 per round; a * marks a round whose
    window held a full garbage collection (its longest pause in brackets)."""
    lines = []
    for kind, runs in rounds.items():
        cells = []
        for run in runs:
            fixed = run["fixed"]
            cell = f"{fixed['p99_ms']:.1f}" if fixed["p99_ms"] is not None else "-"
            if fixed["gc_full_runs"]:
                cell += f"* ({fixed['gc_longest_ms']:.0f} ms)"
            cells.append(cell)
        lines.append(f"{kind}: p99 ms by round: {', '.join(cells)}")
    return lines


def delivery_bounds(results: list[dict[str, Any]], cpus: int, pinned: bool) -> list[str]:
    """How near each contender's fixed-rate delivery comes to what the
    machine allows. On loopback the server and the clients share the CPUs, so
    one update reaches the last client no sooner than the CPU both spend on it
    spread over all CPUs, nor sooner than the server's CPU on its one
    process. Pinned, the server has one
    CPU and the clients the rest. The bound is on delivery, not on the
    server's writes, which can end before it while clients still read; it is
    approximate (the clients' CPU per update is their whole phase's, over the
    updates), but a p99 target well under it is out of any server's reach on
    that machine."""
    lines = []
    for r in results:
        fixed = r["fixed"]
        if fixed["p99_ms"] is None:
            continue
        server_ms = fixed["broadcast_cpu_ms_p50"]
        clients_ms = fixed["client_cpu_us_per_delivered"] * r["clients"] / 1000
        if pinned:
            bound = max(server_ms, clients_ms / max(cpus - 1, 1))
        else:
            bound = max((server_ms + clients_ms) / cpus, server_ms)
        lines.append(
            f"{r['contender']}: writes {fixed['broadcast_wall_ms_p50']:.1f} ms; delivery to all"
            f" at least {bound:.1f} ms (server {server_ms:.1f} ms CPU,"
            f" clients {clients_ms:.1f} ms, {cpus} CPUs); p99"
            f" {fixed['p99_ms']:.1f} ms = {fixed['p99_ms'] / bound:.2f} x bound"
        )
    return lines


def ratios(results: list[dict[str, Any]]) -> dict[str, float]:
    by = {r["contender"]: r for r in results}
    out: dict[str, float] = {}
    if "rateline" not in by:
        return out
    mine = by["rateline"]["burst"]["cpu_us_per_delivered"]
    for base in ("floor", "naive", "naive+uvloop"):
        if base in by:
            out[f"cpu_vs_{base}"] = mine / by[base]["burst"]["cpu_us_per_delivered"]
            out[f"fixed_cpu_vs_{base}"] = (
                by["rateline"]["fixed"]["cpu_us_per_delivered"]
                / by[base]["fixed"]["cpu_us_per_delivered"]
            )
    floor = by.get("floor")
    if floor is not None and floor["fixed"]["p99_ms"]:
        out["p99_vs_floor"] = by["rateline"]["fixed"]["p99_ms"] / floor["fixed"]["p99_ms"]
    if "rateline+slow" in by:
        slow = by["rateline+slow"]
        out["slow_reader_cpu_vs_rateline"] = slow["burst"]["cpu_us_per_delivered"] / mine
        out["slow_reader_p99_vs_rateline"] = (
            slow["fixed"]["p99_ms"] / by["rateline"]["fixed"]["p99_ms"]
        )
    if "rateline+busy" in by:
        busy = by["rateline+busy"]
        out["busy_actor_cpu_vs_rateline"] = busy["burst"]["cpu_us_per_delivered"] / mine
        out["busy_actor_p99_vs_rateline"] = (
            busy["fixed"]["p99_ms"] / by["rateline"]["fixed"]["p99_ms"]
        )
    return out


def paired_ratios(rounds: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[float, ...]]:
    """Per ratio, its median, least and greatest over rounds, each round's
    contenders compared with each other only: the machine drifts between
    rounds more than within one."""
    count = min(len(runs) for runs in rounds.values())
    per_round = [ratios([runs[i] for runs in rounds.values()]) for i in range(count)]
    out: dict[str, tuple[float, ...]] = {}
    for name in per_round[0] if per_round else ():
        values = [r[name] for r in per_round if name in r]
        out[name] = (statistics.median(values), min(values), max(values))
    return out


def median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure, the median over rounds (the first round's value if not a number)."""
    out: dict[str, Any] = {}
    for key, value in rounds[0].items():
        values = [r[key] for r in rounds]
        if isinstance(value, dict) and key != "slow_reader":
            out[key] = median_of(values)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = statistics.median(v for v in values if v is not None)
        elif key == "slow_reader":
            out[key] = values
        else:
            out[key] = value
    return out

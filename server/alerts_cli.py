"""`rateline alerts export-prometheus`: the alert rules as a Prometheus rules file.

The built-in rules and those of RATELINE_ALERT_RULES, written as PromQL, so
a team that runs Prometheus can evaluate the very same rules there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from actors.alerting import load_rules
from actors.alerting.promql import rules_file
from ops.config import Settings


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    alerts = commands.add_parser("alerts", help="alert rules", description="Alert rules.")
    actions = alerts.add_subparsers(dest="alerts_command", required=True)
    export = actions.add_parser(
        "export-prometheus",
        help="write the alert rules as a Prometheus alerting-rules file",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    export.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    text = rules_file(load_rules(settings))
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0

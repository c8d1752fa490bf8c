"""`rateline audit verify` and `rateline security scan`, for operators.

verify walks the audit chain against the checkpoints kept beside the
backups: exit 0 with "N events, chain intact up to <hash>", or 1 naming the
first broken position and why. scan prints the findings, most severe first,
and exits 1 when one is critical, so a deploy pipeline can stop on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from actors.audit.actor import checkpoint_folder
from actors.audit.auditor import Auditor
from actors.audit.checkpoints import CheckpointFile
from actors.audit.scan import run_scan, verify_and_record
from ops.config import Settings
from storage.database import Database


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="the audit log", description="The audit log.")
    audit_actions = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_actions.add_parser(
        "verify", help="walk the hash chain and the checkpoints", description=__doc__
    )
    security = commands.add_parser(
        "security", help="the security scanner", description="The security scanner."
    )
    security_actions = security.add_subparsers(dest="security_command", required=True)
    scan = security_actions.add_parser("scan", help="scan now and print the findings")
    for command in (verify, scan):
        command.add_argument("--data-dir", type=Path, help="data folder (RATELINE_DATA_DIR)")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    db = await Database.open(url=settings.database_url, data_dir=settings.data_dir)
    auditor = Auditor(db.pool)
    try:
        if args.command == "audit":
            checkpoints = CheckpointFile(checkpoint_folder(settings)).read()
            verdict = await verify_and_record(db.pool, settings, auditor, checkpoints)
            print(verdict.describe())
            return 0 if verdict.intact else 1
        report = await run_scan(db.pool, settings, auditor)
        for finding in report.findings:
            print(f"[{finding.severity}] {finding.title}")
            print(f"    evidence: {finding.evidence}")
            print(f"    remedy:   {finding.remedy}")
        print(f"{len(report.findings)} findings, {len(report.critical)} critical")
        return 1 if report.critical else 0
    finally:
        await auditor.close()
        await db.close()

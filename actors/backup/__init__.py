"""Backups: scheduled pg_dump to a folder or S3, verified by a real restore.

Pure logic beside the actor: `manifest` (what a dump holds, and comparing a
restore with it), `retention` (which backups to keep) and `schedule` (when
runs fall). `pipeline` streams dumps and restores; `service` runs one backup
from start to verdict; `recovery` restores one.
"""

from __future__ import annotations

from typing import Any

from actors.runtime import ChildSpec


def child_specs(settings: Any) -> list[ChildSpec]:
    from actors.backup.actor import NAME, BackupActor
    from actors.backup.config import BackupConfig

    return [
        ChildSpec(
            name=NAME,
            factory=BackupActor,
            kwargs={"config": BackupConfig.from_settings(settings)},
            shutdown_timeout=10.0,
        )
    ]

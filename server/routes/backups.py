"""Backups over HTTP, for admins: the list, and a backup taken now.

POST records the backup as running and hands it to the backup actor, which
takes it after whatever it is doing; the answer (202) carries its id, and
GET tells how it went.
"""

from __future__ import annotations

from aiohttp import web

from actors.backup import service
from actors.backup.actor import NAME, RunBackup
from actors.backup.config import BackupConfig
from protocols.api.backups import BackupList, BackupOut, BackupStarted
from protocols.problems import Problem
from server import keys
from server.admin_audit import record_admin_action
from server.auth import require_user
from server.routing import ApiRoutes
from storage import backups as store
from storage.backups import BackupRow

routes = ApiRoutes(tag="backups")


def public(row: BackupRow) -> BackupOut:
    return BackupOut(
        id=row.id,
        status=row.status,  # type: ignore[arg-type]
        trigger=row.trigger,  # type: ignore[arg-type]
        destination=row.destination,
        started_at=row.started_at,
        finished_at=row.finished_at,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        dump_seconds=row.dump_seconds,
        verify_seconds=row.verify_seconds,
        failed_stage=row.stage,
        detail=row.detail,
    )


@routes.get("/api/admin/backups", response=BackupList, auth="admin")
async def list_backups(request: web.Request) -> BackupList:
    """Backups, newest first, with status, size, durations and verification result"""
    rows = await store.listing(request.app[keys.DB].pool)
    return BackupList(items=[public(row) for row in rows])


@routes.post("/api/admin/backups", response=BackupStarted, status=202, auth="admin")
async def start_backup(request: web.Request) -> BackupStarted:
    """Take a backup now; answers at once with its id (admins only)"""
    admin = await require_user(request, "admin")
    pool = request.app[keys.DB].pool
    deps = request.app[keys.DEPS]
    node = str(deps.get("node", ""))
    running = await store.running_on(pool, node)
    if running is not None:
        await record_admin_action(request, admin, "backup_requested", "failure", target=running)
        raise Problem(409, "A backup is running", f"backup {running} is still running; wait for it")
    destination = BackupConfig.from_settings(request.app[keys.CONFIG]).destination()
    backup_id = service.new_id()
    await store.create(
        pool, id=backup_id, trigger="manual", node=node, destination=destination.description
    )
    try:
        request.app[keys.SYSTEM].tell(NAME, RunBackup(backup_id))
    except Exception:
        await store.finish(pool, backup_id, status="failed", stage="dump", detail="no backup actor")
        raise Problem(503, "Backups are unavailable", "the backup worker is not running") from None
    await record_admin_action(request, admin, "backup_requested", "success", target=backup_id)
    return BackupStarted(id=backup_id)

"""The `rateline` command: serve, migrate, admin."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from actors.runtime import SupervisorSpec
from ops import logging as structured_logging
from ops.config import ConfigError, Settings
from ops.settings_doc import documented
from server import admin_cli, alerts_cli, audit_cli, backup_cli
from server.app import create_app
from server.client_address import trusted_networks
from server.tree import build_tree
from storage.database import Database, connection_error
from storage.embedded import DataDirInUse

log = logging.getLogger("rateline")


def _environment_help() -> str:
    rows = [
        f"  {d.env:<32} {d.help} (default: {d.default or 'unset'}"
        + (f"; {d.allowed})" if d.allowed else ")")
        for d in documented()
    ]
    return "environment variables:\n" + "\n".join(rows)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rateline", description="Rateline rate server.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("serve", "start the server (embedded PostgreSQL unless DATABASE_URL is set)"),
        ("migrate", "apply pending database migrations and exit"),
    ):
        command = commands.add_parser(
            name,
            help=text,
            description=text,
            epilog=_environment_help(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_argument("--data-dir", type=Path, help="data folder (RATELINE_DATA_DIR)")
        if name == "serve":
            command.add_argument("--host", help="bind address (RATELINE_HOST)")
            command.add_argument("--port", type=int, help="TCP port (RATELINE_PORT)")
    admin_cli.add_parser(commands)
    audit_cli.add_parser(commands)
    alerts_cli.add_parser(commands)
    backup_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            data_dir=args.data_dir,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
        )
        trusted_networks(settings.trusted_proxies)
        build_tree(settings)
    except (ConfigError, ValueError) as exc:
        print(f"rateline: {exc}", file=sys.stderr)
        return 2
    if args.command == "alerts":
        return alerts_cli.run(args, settings)
    structured_logging.configure(settings.log_level)
    runner: Callable[[Coroutine[Any, Any, int]], int] = asyncio.run
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        pass
    try:
        if args.command == "migrate":
            return runner(_migrate(settings))
        if args.command == "admin":
            return runner(admin_cli.run(args, settings))
        if args.command in ("audit", "security"):
            return runner(audit_cli.run(args, settings))
        if args.command in backup_cli.COMMANDS:
            return runner(backup_cli.run(args, settings))
        return runner(serve(settings))
    except DataDirInUse as exc:
        log.error("cannot start: %s", exc)
        print(f"rateline: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:
        if connection_error(exc) is None:
            raise
        log.error("cannot start: the database is unavailable", extra={"error": repr(exc)})
        print(f"rateline: the database is unavailable: {exc!r}", file=sys.stderr)
        return 4


async def _migrate(settings: Settings) -> int:
    db = await Database.open(url=settings.database_url, data_dir=settings.data_dir, migrate=False)
    try:
        applied = await db.migrate()
        print("applied: " + (", ".join(applied) if applied else "nothing, schema is current"))
        return 0
    finally:
        await db.close()


async def serve(settings: Settings, *, tree: SupervisorSpec | None = None) -> int:
    """Run until SIGTERM/SIGINT (exit 0) or until supervision gives up (exit 1)."""
    stop = asyncio.Event()
    exit_code = 0

    def fatal(reason: str) -> None:
        nonlocal exit_code
        exit_code = 1
        stop.set()

    app = create_app(settings, tree=tree, on_fatal=fatal)
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=settings.shutdown_timeout
    )
    loop = asyncio.get_running_loop()
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("serving", extra={"url": f"http://{settings.host}:{settings.port}"})
        await stop.wait()
        log.info("stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
    if exit_code:
        log.critical("exiting after the supervision tree gave up")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

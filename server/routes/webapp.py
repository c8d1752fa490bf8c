"""The web app: static files from server/web/, the same on every node.

Each page of the app has a path of its own, so a link in an email (the
verification and reset links) or a reload lands on the right page: those
paths all answer the one HTML shell, and the app's router draws the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from aiohttp import web

from server.routing import Endpoint

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"

# The paths of app.js's router; a test keeps the two lists equal.
PAGE_PATHS = (
    "/",
    "/calculator",
    "/signup",
    "/verify",
    "/login",
    "/forgot-password",
    "/reset-password",
    "/account",
    "/admin",
    "/talk-to-a-broker",
    "/broker",
)


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_ROOT / "index.html", headers={"Cache-Control": "no-cache"})


class WebRoutes:
    """Installs the pages and /static/; none of it is part of the API document."""

    endpoints: ClassVar[list[Endpoint]] = []

    def install(self, app: web.Application) -> None:
        for path in PAGE_PATHS:
            app.router.add_get(path, page)
        app.router.add_static("/static/", WEB_ROOT / "static", append_version=False)


routes = WebRoutes()

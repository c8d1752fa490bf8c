"""The web app: static files from server/web/, the same on every node.

Each page of the app has a path of its own, so a link in an email (the
verification and reset links) or a reload lands on the right page: those
paths all answer the one HTML shell, and the app's router draws the page.

The shell carries a Content-Security-Policy: everything from Rateline
itself, nothing inline. The payment page alone may also load Stripe.js
from RATELINE_STRIPE_JS_URL (and its card frame) and talk to the Stripe API
base; the router loads that page, and any page after it, as a fresh
document so every other page keeps the strict policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from aiohttp import web

from server import keys
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
    "/payments",
    "/talk-to-a-broker",
    "/broker",
)
PAYMENT_PAGE = "/payments"


def content_policy(script: str = "", connect: str = "", frame: str = "'none'") -> str:
    return (
        f"default-src 'self'; script-src 'self'{script}; style-src 'self'; img-src 'self' data:;"
        f" connect-src 'self'{connect}; frame-src {frame}; object-src 'none'; base-uri 'none';"
        " form-action 'self'; frame-ancestors 'none'"
    )


STRICT_POLICY = content_policy()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def payment_policy(stripe_js_url: str, stripe_api_base: str) -> str:
    """The strict policy plus Stripe.js, its card frame and the Stripe API."""
    return content_policy(
        script=f" {stripe_js_url}",
        connect=f" {_origin(stripe_api_base)}",
        frame=_origin(stripe_js_url),
    )


async def page(request: web.Request) -> web.FileResponse:
    policy = STRICT_POLICY
    if request.path == PAYMENT_PAGE:
        settings = request.app[keys.CONFIG]
        policy = payment_policy(settings.stripe_js_url, settings.stripe_api_base)
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": policy}
    return web.FileResponse(WEB_ROOT / "index.html", headers=headers)


class WebRoutes:
    """Installs the pages and /static/; none of it is part of the API document."""

    endpoints: ClassVar[list[Endpoint]] = []

    def install(self, app: web.Application) -> None:
        for path in PAGE_PATHS:
            app.router.add_get(path, page)
        app.router.add_static("/static/", WEB_ROOT / "static", append_version=False)


routes = WebRoutes()

"""Headers every response carries, and the cross-site check of unsafe
requests that a browser sends with the session cookie.

The headers go on in `on_response_prepare`, so they reach every response,
WebSocket upgrades and streamed answers included: no sniffing, no framing,
no referrer, HSTS when the platform is served over https, `no-store` on
any answer to a request that carried a session, and a `Server` header that
names no version.

Cross-site request forgery: a browser attaches the cookie to a form posted
from another site (SameSite=Lax stops most, not all: a sibling subdomain
counts as same-site). So a POST, PUT, PATCH or DELETE that carries the
cookie must come from our own origin, judged by `Sec-Fetch-Site` when the
browser sends it and by `Origin` otherwise. Bearer tokens are not sent by
browsers on their own, so requests that authenticate that way pass.
"""

from __future__ import annotations

from aiohttp import web

from protocols.problems import Problem
from server import keys
from server.auth import session_cookie_name
from server.middlewares import Handler
from server.realtime.origins import allowed_origins, origin_of

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HSTS = "max-age=31536000; includeSubDomains"


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Server"] = "Rateline"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    public_url = request.app[keys.CONFIG].public_url
    if public_url.lower().startswith("https://"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if "Authorization" in request.headers or session_cookie_name(public_url) in request.cookies:
        headers["Cache-Control"] = "no-store"


def _from_our_pages(request: web.Request) -> bool:
    """The platform's own origin, or one of RATELINE_ALLOWED_ORIGINS (the same
    list that may open /ws with the cookie)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return site is None  # not a browser, or one old enough to rely on SameSite alone
    settings = request.app[keys.CONFIG]
    ours = allowed_origins(settings.public_url, settings.allowed_origins)
    return origin_of(origin) in ours | {origin_of(str(request.url))}


@web.middleware
async def cross_site_check(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse (403) an unsafe request that rides the session cookie from another site."""
    if (
        request.method in UNSAFE
        and "Authorization" not in request.headers
        and session_cookie_name(request.app[keys.CONFIG].public_url) in request.cookies
        and not _from_our_pages(request)
    ):
        raise Problem(
            403,
            "Cross-site request refused",
            "a request that changes something must come from the platform's own pages "
            "when it carries the session cookie; API clients send Authorization: Bearer",
        )
    return await handler(request)

"""Which web origins may sign a WebSocket in with the session cookie.

A browser sends the cookie with a WebSocket upgrade from any site, and the
same-origin policy does not apply to WebSockets: a page elsewhere could open
/ws as the signed-in user (cross-site WebSocket hijacking). Browsers always
send `Origin` on the upgrade, so a cookie counts only when that origin is
the platform's own (RATELINE_PUBLIC_URL) or one listed in
RATELINE_ALLOWED_ORIGINS. A client that sends no `Origin` is not a browser
page and cannot have been lent someone's cookie by one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ops.config import ConfigError

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]`, lower case, default port left out; None if not an origin."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def allowed_origins(public_url: str, extra: str) -> frozenset[str]:
    """The public URL's origin and each origin of the comma list `extra`
    (RATELINE_ALLOWED_ORIGINS; an entry that is no origin is refused)."""
    found = set()
    for entry in filter(None, (e.strip() for e in extra.split(","))):
        origin = origin_of(entry)
        if origin is None:
            raise ConfigError(
                f"RATELINE_ALLOWED_ORIGINS={extra!r} is not valid: {entry!r} is not an"
                " origin (scheme://host[:port], http or https)"
            )
        found.add(origin)
    public = origin_of(public_url)
    if public is not None:
        found.add(public)
    return frozenset(found)


def cookie_may_sign_in(origin: str | None, allowed: frozenset[str]) -> bool:
    """Whether an upgrade sent with `Origin: origin` may use the session cookie."""
    if origin is None:
        return True
    return origin_of(origin) in allowed

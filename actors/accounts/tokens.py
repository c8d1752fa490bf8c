"""Secret tokens for links and sessions.

The client holds 256 random bits; we keep only their SHA-256, so a copy of
the database (a backup, a leaked dump) opens no account. A plain hash is
enough here, unlike passwords, because the token has full entropy.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> tuple[str, bytes]:
    """A fresh token for the client, and the digest to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def looks_like_token(token: str) -> bool:
    """Cheap shape check before touching the database with client input."""
    return 20 <= len(token) <= 128 and all(c.isalnum() or c in "-_" for c in token)

"""The password policy: long enough, and not guessable.

Length alone lets "Password1234" through, so zxcvbn rates the password too,
with the user's own address and name as extra dictionary words; the
user sees zxcvbn's own advice when a password is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_SCORE = 3
_RATED_PREFIX = 72  # zxcvbn refuses longer input; a strong prefix is enough


def password_problems(password: str, *, personal: Sequence[str] = ()) -> list[str]:
    """Why this password is refused; an empty list means it is accepted."""
    if len(password) < MIN_LENGTH:
        return [f"use at least {MIN_LENGTH} characters (this one has {len(password)})"]
    if len(password) > MAX_LENGTH:
        return [f"use at most {MAX_LENGTH} characters"]
    result = zxcvbn(password[:_RATED_PREFIX], user_inputs=list(personal))
    if result["score"] >= MIN_SCORE:
        return []
    feedback = result.get("feedback") or {}
    problems = ["this password is too easy to guess"]
    if feedback.get("warning"):
        problems.append(str(feedback["warning"]))
    problems.extend(str(s) for s in feedback.get("suggestions") or [])
    return problems

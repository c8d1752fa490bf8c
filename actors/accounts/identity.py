"""Email addresses as account identifiers.

One person, one address: we compare addresses after email-validator's
normalisation and case-folding the whole address, because users type their
address in whatever case their keyboard gives them, and providers that treat
`Bob@` and `bob@` as different mailboxes are vanishingly rare.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidEmail(ValueError):
    """The address cannot receive mail; the message says why, for the user."""


def normalise_email(raw: str) -> str:
    """The address as stored and compared; no DNS look-up is made."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return result.normalized.lower()


def personal_words(email: str, name: str) -> list[str]:
    """What a password must not be built from: the address, its parts and
    the words of the name."""
    local, _, domain = email.lower().partition("@")
    words = {email.lower(), local, domain, domain.split(".")[0]}
    for piece in (local, name.lower()):
        for separator in ".-_+ ":
            piece = piece.replace(separator, " ")
        words.update(piece.split())
        words.add("".join(piece.split()))
    words.add("rateline")
    return sorted(w for w in words if len(w) >= 3)

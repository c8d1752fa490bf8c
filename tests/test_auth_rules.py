"""The account rules on their own: addresses, passwords, hashes, tokens,
sign-in throttling, session lifetimes and email templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from actors.accounts.hashing import Argon2Params, PasswordHasher
from actors.accounts.identity import InvalidEmail, normalise_email, personal_words
from actors.accounts.passwords import password_problems
from actors.accounts.sessions import SessionPolicy
from actors.accounts.throttle import (
    PER_ACCOUNT,
    MailLimit,
    ThrottleRules,
    mail_wait,
    strictest,
    verdict,
)
from actors.accounts.tokens import looks_like_token, new_token, token_digest
from actors.mailer.compose import compose, message_id
from actors.mailer.retry import RetryPolicy
from protocols.email_templates import TemplateError, names, render

CHEAP = Argon2Params(time_cost=1, memory_kib=8, parallelism=1)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_addresses_are_normalised_and_case_folded() -> None:
    assert normalise_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"


@pytest.mark.parametrize("bad", ["ada", "ada@", "@example.com", "ada@@example.com", "a b@x.com"])
def test_invalid_addresses_say_why(bad: str) -> None:
    with pytest.raises(InvalidEmail) as caught:
        normalise_email(bad)
    assert str(caught.value)


def test_short_passwords_are_refused_before_rating() -> None:
    assert password_problems("Xy7!kq2#") == ["use at least 12 characters (this one has 8)"]


def test_common_passwords_fail_with_zxcvbn_advice() -> None:
    problems = password_problems("password1234")
    assert problems[0] == "this password is too easy to guess"
    assert any("common" in p for p in problems)


def test_passwords_built_from_the_users_own_name_and_address_fail() -> None:
    personal = personal_words("ada.lovelace@example.com", "Ada Lovelace")
    assert password_problems("AdaLovelace2024", personal=personal)
    assert password_problems("ada.lovelace@example.com", personal=personal)
    assert password_problems("AdaLovelace2024") == [], "strong for anyone else"


def test_a_long_random_passphrase_passes() -> None:
    personal = personal_words("ada@example.com", "Ada")
    assert password_problems("tangerine-orbit-quietly-47", personal=personal) == []


def test_hashes_are_argon2id_and_verify() -> None:
    hasher = PasswordHasher(CHEAP)
    stored = hasher.hash("tangerine-orbit-quietly-47")
    assert stored.startswith("$argon2id$")
    assert hasher.verify(stored, "tangerine-orbit-quietly-47")
    assert not hasher.verify(stored, "tangerine-orbit-quietly-48")
    assert not hasher.verify("not a hash", "x")


def test_an_unknown_account_costs_one_verification_like_a_wrong_password() -> None:
    hasher = PasswordHasher(CHEAP)
    stored = hasher.hash("tangerine-orbit-quietly-47")
    before = hasher.verifications
    assert not hasher.verify(None, "anything at all")
    assert hasher.verifications == before + 1
    assert not hasher.verify(stored, "anything at all")
    assert hasher.verifications == before + 2


def test_changed_parameters_call_for_a_rehash() -> None:
    old = PasswordHasher(CHEAP).hash("tangerine-orbit-quietly-47")
    stronger = PasswordHasher(Argon2Params(time_cost=2, memory_kib=16, parallelism=1))
    assert stronger.needs_rehash(old)
    assert not stronger.needs_rehash(stronger.hash("x"))


def test_tokens_are_256_bit_and_stored_as_sha256() -> None:
    token, digest = new_token()
    assert len(token) == 43 and looks_like_token(token)
    assert digest == token_digest(token) and len(digest) == 32
    assert new_token()[0] != token
    assert not looks_like_token("short") and not looks_like_token("x" * 30 + "'; drop")


RULES = ThrottleRules(
    free_failures=3,
    base_delay=timedelta(seconds=2),
    max_delay=timedelta(seconds=10),
    lock_after=8,
    lock_for=timedelta(minutes=15),
    window=timedelta(minutes=30),
)


def test_the_first_failures_are_free() -> None:
    for failures in range(4):
        assert verdict(RULES, failures, NOW, NOW).allowed


def test_waits_double_after_the_free_failures_up_to_the_cap() -> None:
    waits = [verdict(RULES, n, NOW, NOW).retry_after.total_seconds() for n in range(4, 8)]
    assert waits == [2, 4, 8, 10]
    later = verdict(RULES, 5, NOW - timedelta(seconds=4), NOW)
    assert later.allowed, "the wait counts from the last failure"


def test_too_many_failures_lock_for_a_while() -> None:
    locked = verdict(RULES, 8, NOW, NOW)
    assert (locked.allowed, locked.locked, locked.retry_after_seconds) == (False, True, 900)
    assert verdict(RULES, 8, NOW - timedelta(minutes=15), NOW).allowed


def test_the_strictest_verdict_wins() -> None:
    short, lock = verdict(RULES, 4, NOW, NOW), verdict(RULES, 9, NOW, NOW)
    assert strictest(short, lock) is lock
    assert strictest(verdict(RULES, 0, None, NOW)).allowed


def test_emails_on_request_are_spaced_and_capped() -> None:
    rule = MailLimit(limit=3, window=timedelta(hours=1), spacing=timedelta(minutes=1))
    assert mail_wait(rule, 0, None, NOW) is None
    assert mail_wait(rule, 1, NOW - timedelta(seconds=20), NOW) == timedelta(seconds=40)
    assert mail_wait(rule, 2, NOW - timedelta(minutes=2), NOW) is None
    assert mail_wait(rule, 3, NOW - timedelta(minutes=2), NOW) == timedelta(minutes=58)


def test_scaled_rules_keep_their_shape() -> None:
    tiny = PER_ACCOUNT.scaled(0.001)
    assert tiny.lock_after == PER_ACCOUNT.lock_after
    assert tiny.lock_for == PER_ACCOUNT.lock_for * 0.001


def test_sessions_end_when_idle_or_at_their_absolute_limit() -> None:
    policy = SessionPolicy(idle=timedelta(minutes=30), lifetime=timedelta(hours=12))
    created = NOW - timedelta(hours=1)
    assert policy.alive(created, NOW - timedelta(minutes=29), NOW)
    assert not policy.alive(created, NOW - timedelta(minutes=31), NOW)
    assert not policy.alive(NOW - timedelta(hours=12), NOW, NOW)
    assert policy.needs_touch(NOW - timedelta(minutes=2), NOW)
    assert not policy.needs_touch(NOW - timedelta(seconds=5), NOW)


def test_retries_back_off_exponentially_to_a_cap_then_give_up() -> None:
    policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(minutes=5), max_attempts=6)
    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 240, 300]
    assert policy.delay(1000) == timedelta(minutes=5)
    assert not policy.gives_up(5) and policy.gives_up(6)


def test_every_template_has_both_bodies() -> None:
    assert {"verification", "already_registered", "password_reset"} <= set(names())


def test_rendering_escapes_html_but_not_text() -> None:
    email = render(
        "verification", {"name": "<Ada & Co>", "link": "https://x.test/v?a=1&b=2", "hours": 24}
    )
    assert email.subject == "Confirm your email for Rateline"
    assert "Hello <Ada & Co>," in email.text
    assert "&lt;Ada &amp; Co&gt;" in email.html and "<Ada" not in email.html
    assert 'href="https://x.test/v?a=1&amp;b=2"' in email.html
    assert email.sensitive
    assert not render(
        "already_registered", {"name": "A", "login_link": "l", "reset_link": "r"}
    ).sensitive


def test_rendering_names_the_missing_value() -> None:
    with pytest.raises(TemplateError, match="'link'"):
        render("password_reset", {"name": "Ada", "minutes": 30})


def test_composed_messages_are_identical_every_time() -> None:
    import uuid

    key = uuid.uuid4()
    args = {
        "message_key": key,
        "mail_from": "Rateline <no-reply@rates.example>",
        "to": "ada@example.com",
        "subject": "Hi",
        "text": "text",
        "html": "<p>html</p>",
        "created_at": NOW,
    }
    first, second = compose(**args), compose(**args)  # type: ignore[arg-type]
    assert first["Message-ID"] == message_id(key, "x <a@rates.example>") == f"<{key}@rates.example>"
    assert first.as_bytes() == second.as_bytes()
    assert first.get_body(("html",)) is not None

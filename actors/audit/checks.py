"""The security scanner's checks: pure functions from facts to findings.

The facts are gathered apart (storage.security_facts reads the database, the
settings describe the deployment), so each check is a plain rule that a test
states in a line. A finding's `id` names the check and its subject, so the
same problem seen by the next scan is the same finding, and one that no
longer appears is resolved.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")

# OWASP's least Argon2id settings (m = 19 MiB, t = 2).
ARGON2_MIN_MEMORY_KIB = 19 * 1024
ARGON2_MIN_TIME_COST = 2
STUFFING_ACCOUNTS_PER_IP = 10
FAILURES_PER_ACCOUNT = 20


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    title: str
    evidence: str
    remedy: str
    subject: str = ""

    @property
    def id(self) -> str:
        return f"{self.check}:{self.subject}" if self.subject else self.check


@dataclass(frozen=True)
class HbaRule:
    type: str
    address: str | None
    netmask: str | None
    auth_method: str


@dataclass(frozen=True)
class DatabaseFacts:
    user: str
    superuser: bool
    password_encryption: str
    ssl: bool
    host: str
    public_create: bool
    hba_rules: Sequence[HbaRule] | None = None  # None: not readable by this role
    passwordless_logins: Sequence[str] | None = None
    audit_trigger: Literal["enabled", "disabled", "missing"] = "enabled"


@dataclass(frozen=True)
class DeploymentFacts:
    host: str
    public_url: str
    dev_mailbox: bool
    argon2_memory_kib: int
    argon2_time_cost: int
    trusted_proxies: Sequence[str]
    keyed_urls: Sequence[tuple[str, str]] = ()  # (what, url) of services sent an API key
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None


@dataclass(frozen=True)
class AccountFacts:
    admins: Sequence[tuple[str, bool]]  # (email, verified)
    failed_sign_ins: Sequence[tuple[str | None, str | None]] = ()  # (account, ip), last hour
    max_admins: int = 5


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host in ("localhost", "") or host.startswith("/"):  # a Unix socket is local
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_database(facts: DatabaseFacts) -> Iterator[Finding]:
    if facts.superuser:
        yield Finding(
            "pg.superuser",
            "high",
            "The application connects to PostgreSQL as a superuser",
            f"role {facts.user!r} has rolsuper",
            "connect as a role that owns the application's tables and nothing more",
        )
    for rule in facts.hba_rules or ():
        if rule.auth_method == "trust" and rule.type.startswith("host"):
            address = f"{rule.address}/{rule.netmask}" if rule.netmask else str(rule.address)
            if not _local_network(rule.address):
                yield Finding(
                    "pg.hba_trust",
                    "critical",
                    "pg_hba.conf trusts connections from the network without a password",
                    f"{rule.type} rule for {address} uses trust",
                    "use scram-sha-256 for every non-local rule",
                    subject=address,
                )
    if facts.password_encryption != "scram-sha-256":
        yield Finding(
            "pg.password_encryption",
            "medium",
            "PostgreSQL stores new passwords with a weak hash",
            f"password_encryption = {facts.password_encryption}",
            "set password_encryption = 'scram-sha-256' and reset the passwords",
        )
    if not facts.ssl and not is_loopback(facts.host):
        yield Finding(
            "pg.ssl_off",
            "high",
            "The database is reached over the network without TLS",
            f"ssl = off on {facts.host}",
            "turn ssl on in postgresql.conf and connect with sslmode=verify-full",
        )
    if facts.public_create:
        yield Finding(
            "pg.public_create",
            "medium",
            "Any role may create objects in schema public",
            "CREATE on schema public is granted to PUBLIC",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        )
    for role in facts.passwordless_logins or ():
        yield Finding(
            "pg.passwordless_login",
            "low",
            "A role can log in without a password",
            f"role {role!r} has LOGIN and no password; only trust or peer rules let it in",
            "give it a password or NOLOGIN, and keep trust rules local",
            subject=role,
        )
    if facts.audit_trigger != "enabled":
        yield Finding(
            "audit.trigger",
            "critical",
            "The audit log can be changed: its append-only trigger is " + facts.audit_trigger,
            f"trigger audit_log_append_only is {facts.audit_trigger}",
            "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only (or migrate again), "
            "then run `rateline audit verify`",
        )


def check_deployment(facts: DeploymentFacts) -> Iterator[Finding]:
    if facts.dev_mailbox and not is_loopback(facts.host):
        yield Finding(
            "app.dev_mailbox",
            "critical",
            "The dev mailbox is served on a network address",
            f"RATELINE_DEV_MAILBOX is on and the server listens on {facts.host}",
            "configure SMTP (RATELINE_SMTP_URL) or set RATELINE_DEV_MAILBOX=0",
        )
    if (
        facts.argon2_memory_kib < ARGON2_MIN_MEMORY_KIB
        or facts.argon2_time_cost < ARGON2_MIN_TIME_COST
    ):
        yield Finding(
            "app.argon2_weak",
            "high",
            "Passwords are hashed below OWASP's minimum cost",
            f"Argon2id m={facts.argon2_memory_kib} KiB, t={facts.argon2_time_cost}",
            f"use at least m={ARGON2_MIN_MEMORY_KIB} KiB and t={ARGON2_MIN_TIME_COST}",
        )
    for entry in facts.trusted_proxies:
        try:
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            continue
        if network.prefixlen == 0:
            yield Finding(
                "app.trusted_proxies_all",
                "high",
                "X-Forwarded-For is believed from any address",
                f"RATELINE_TRUSTED_PROXIES contains {entry.strip()}",
                "list only the load balancers' addresses",
                subject=entry.strip(),
            )
    for what, url in facts.keyed_urls:
        parts = urlsplit(url)
        if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            yield Finding(
                "app.key_over_http",
                "high",
                f"The {what} API key travels over plain HTTP",
                f"{what} base URL is {url}",
                "use an https:// URL",
                subject=what,
            )
    public = urlsplit(facts.public_url)
    stripe_key = facts.stripe_secret_key or ""
    if stripe_key.startswith(("sk_live_", "rk_live_")) and public.scheme != "https":
        yield Finding(
            "app.stripe_live_without_https",
            "critical",
            "A live Stripe key on a server whose public URL is not https",
            f"RATELINE_PUBLIC_URL is {facts.public_url}",
            "serve the platform over https before taking live payments",
        )
    if stripe_key and not facts.stripe_webhook_secret:
        yield Finding(
            "app.stripe_no_webhook_secret",
            "high",
            "Stripe is configured without a webhook secret",
            "STRIPE_WEBHOOK_SECRET is unset, so webhook events cannot be verified",
            "set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret",
        )
    if public.scheme != "https" and not is_loopback(facts.host):
        yield Finding(
            "app.public_url_http",
            "medium",
            "The public URL is not https on a server reachable from the network",
            f"RATELINE_PUBLIC_URL is {facts.public_url}, the server listens on {facts.host}",
            "set RATELINE_PUBLIC_URL to the https:// address users reach",
        )


def check_accounts(facts: AccountFacts) -> Iterator[Finding]:
    for email, verified in facts.admins:
        if not verified:
            yield Finding(
                "accounts.admin_unverified",
                "medium",
                "An admin's email address is not verified",
                f"admin {email} has not confirmed their address",
                "verify the address or demote the account",
                subject=email,
            )
    if not facts.admins:
        yield Finding(
            "accounts.no_admin",
            "medium",
            "There is no admin",
            "no user has the admin role",
            "create one with `rateline admin create`",
        )
    elif len(facts.admins) > facts.max_admins:
        yield Finding(
            "accounts.many_admins",
            "low",
            "More admins than the set limit",
            f"{len(facts.admins)} admins; the limit is {facts.max_admins}",
            "demote the admins who do not need it",
        )
    accounts_by_ip: dict[str, set[str]] = {}
    failures_by_account: dict[str, int] = {}
    for account, ip in facts.failed_sign_ins:
        if ip and account:
            accounts_by_ip.setdefault(ip, set()).add(account)
        if account:
            failures_by_account[account] = failures_by_account.get(account, 0) + 1
    for ip, accounts in sorted(accounts_by_ip.items()):
        if len(accounts) >= STUFFING_ACCOUNTS_PER_IP:
            yield Finding(
                "accounts.credential_stuffing",
                "critical",
                "Credential stuffing: one address failing sign-ins across many accounts",
                f"{ip} failed to sign in to {len(accounts)} accounts in the last hour",
                "block the address at the edge and check the accounts it tried",
                subject=ip,
            )
    for account, count in sorted(failures_by_account.items()):
        if count >= FAILURES_PER_ACCOUNT:
            yield Finding(
                "accounts.failures",
                "high",
                "Many failed sign-ins on one account",
                f"{count} failed sign-ins for {account} in the last hour",
                "check with the account's owner; the sign-in throttle is holding",
                subject=account,
            )


def _local_network(address: str | None) -> bool:
    if address in (None, "samehost", "samenet"):
        return address == "samehost"
    try:
        return ipaddress.ip_network(address, strict=False).is_loopback
    except ValueError:
        return is_loopback(address)

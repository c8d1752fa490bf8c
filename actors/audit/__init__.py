"""The security audit: a hash-chained audit log of security events, a
scanner of the database and the deployment, and the actor that runs both.

Flows record events through the Auditor at deps["audit"]
(`await auditor.record("sign_in", "failure", target=email, ip=...)`).
"""

from __future__ import annotations

from actors.runtime import ChildSpec
from ops.config import Settings


def child_specs(settings: Settings) -> list[ChildSpec]:
    from actors.audit.actor import NAME, AuditActor

    return [ChildSpec(name=NAME, factory=AuditActor, kwargs={"settings": settings})]

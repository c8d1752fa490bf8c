"""Schemathesis hooks for the contract test (loaded via SCHEMATHESIS_HOOKS).

Schemathesis's own `positive_data_acceptance` expects every request the
document admits to be accepted. Two answers to such a request are right all
the same, and this check admits exactly those two:

- 422 (400 for a query) of problem type BROKEN_RULE: the request breaks a rule no schema can
  state (fields compared with each other, a guessable password); the
  document says so in the operation's description;
- 410 Gone: an emailed token of the right shape that is spent or unknown.
"""

from __future__ import annotations

from typing import Any

import schemathesis

BROKEN_RULE = "tag:rateline,2026:broken-rule"
ACCEPTED = {401, 403, 404, 409, 410, 429}


@schemathesis.check
def schema_valid_requests_are_accepted(ctx: Any, response: Any, case: Any) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    status = response.status_code
    if status < 400 or status >= 500 or status in ACCEPTED:
        return
    if status in (400, 422):
        try:
            problem = response.json()
        except Exception:
            problem = {}
        if problem.get("type") == BROKEN_RULE:
            return
    raise AssertionError(
        f"a request the document admits was refused with {status}: {response.text[:500]}"
    )

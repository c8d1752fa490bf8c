"""Delivering due outbox rows over SMTP: the mailer's work, on the event loop.

One batch: claim due rows, open one SMTP session, send each row and record
the outcome as soon as the relay answers. A temporary failure reschedules the
row with backoff; a permanent one marks it failed with the reason. If the
process dies between the relay's acceptance and our record, the row's lease
runs out and it is sent again with the same Message-ID.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage

from actors.mailer import metrics
from actors.mailer.compose import compose
from actors.mailer.retry import RetryPolicy
from protocols.smtp import SmtpError, SmtpPermanentError, SmtpSender, SmtpTemporaryError
from storage import outbox as rows
from storage.outbox import Executor, OutboxRow

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0
    claimed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.held += other.held
        self.claimed += other.claimed
        self.errors.extend(other.errors)


class Courier:
    """Delivers the outbox through `sender`, or holds it when there is none."""

    def __init__(
        self,
        db: Executor,
        sender: SmtpSender | None,
        *,
        mail_from: str,
        worker: str,
        retry: RetryPolicy | None = None,
        batch_size: int = 20,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.db = db
        self.sender = sender
        self.mail_from = mail_from
        self.worker = worker
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.lease = lease

    async def deliver_due(self, *, max_batches: int = 10) -> DeliveryReport:
        """Work through due rows, a few batches at most so the caller stays
        responsive; returns what happened."""
        report = DeliveryReport()
        for _ in range(max_batches):
            batch = await self.deliver_batch()
            report.add(batch)
            if batch.claimed < self.batch_size or batch.held:
                break
        await self.refresh_gauge()
        return report

    async def refresh_gauge(self) -> None:
        age = await rows.oldest_pending_age(self.db)
        metrics.OLDEST_PENDING.set(age.total_seconds())

    async def deliver_batch(self) -> DeliveryReport:
        report = DeliveryReport()
        if self.sender is None:
            report.held = await rows.hold_pending(self.db)
            if report.held:
                metrics.HELD.inc(report.held)
            return report
        batch = await rows.claim(
            self.db, worker=self.worker, limit=self.batch_size, lease=self.lease
        )
        report.claimed = len(batch)
        remaining = list(batch)
        while remaining:
            try:
                async with self.sender.session() as smtp:
                    while remaining:
                        row = remaining.pop(0)
                        try:
                            await smtp.send(self._message(row))
                        except SmtpError as exc:
                            await self._failed(row, exc, report)
                            if isinstance(exc, SmtpTemporaryError) and not smtp.connected:
                                break
                        else:
                            await rows.mark_sent(self.db, row.id)
                            metrics.SENT.labels(row.template).inc()
                            report.sent += 1
            except SmtpTemporaryError as exc:
                for row in remaining:
                    await self._failed(row, exc, report)
                remaining = []
        return report

    def _message(self, row: OutboxRow) -> EmailMessage:
        return compose(
            message_key=row.message_key,
            mail_from=self.mail_from,
            to=row.to_address,
            subject=row.subject,
            text=row.text_body,
            html=row.html_body,
            created_at=row.created_at,
        )

    async def _failed(self, row: OutboxRow, exc: SmtpError, report: DeliveryReport) -> None:
        reason = exc.reason
        report.errors.append(reason)
        if isinstance(exc, SmtpPermanentError):
            await rows.mark_failed(self.db, row.id, error=reason)
            metrics.FAILED.labels(row.template).inc()
            report.failed += 1
            log.warning(
                "email refused for good",
                extra={"outbox_id": row.id, "template": row.template, "reason": reason},
            )
        elif self.retry.gives_up(row.attempts):
            error = f"gave up after {row.attempts} attempts; last: {reason}"
            await rows.mark_failed(self.db, row.id, error=error)
            metrics.FAILED.labels(row.template).inc()
            report.failed += 1
            log.error(
                "email undeliverable",
                extra={"outbox_id": row.id, "template": row.template, "reason": error},
            )
        else:
            delay = self.retry.delay(row.attempts)
            await rows.mark_retry(self.db, row.id, error=reason, delay=delay)
            metrics.RETRIED.labels(row.template).inc()
            report.retried += 1
            log.info(
                "email delivery will be retried",
                extra={
                    "outbox_id": row.id,
                    "template": row.template,
                    "reason": reason,
                    "retry_in_seconds": delay.total_seconds(),
                },
            )

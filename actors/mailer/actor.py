"""The mailer actor: delivers the outbox when told there is work, and on a
timer for retries and for mail queued by other nodes.

Each message handles one batch on the server loop (`run_io`) and tells itself
to continue when the batch was full, so a long queue never keeps the actor
from hearing a stop. Mailers on several nodes share the outbox safely: rows
are claimed with SKIP LOCKED and a lease (see storage/outbox.py). A LISTEN on
the outbox channel wakes it the moment any node commits an email.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg

from actors.mailer.config import MailerConfig
from actors.mailer.courier import Courier, DeliveryReport
from actors.mailer.outbox import WAKE_CHANNEL
from actors.runtime import ActorContext, RatelineActor
from protocols.smtp import SmtpSender
from storage.database import connection_error
from storage.notifications import listen

log = logging.getLogger(__name__)

NAME = "mailer"


@dataclass(frozen=True)
class OutboxHasWork:
    """Deliver what is due now."""


@dataclass(frozen=True)
class Tick:
    """The timer fired."""


@dataclass(frozen=True)
class RetryDelivery:
    """Look at the outbox again after the database was away."""


class MailerActor(RatelineActor):
    def __init__(self, ctx: ActorContext, config: MailerConfig) -> None:
        super().__init__(ctx)
        self.config = config
        self.courier: Courier | None = None
        self._listener: Any = None
        self._stopped = False
        self._away = 0  # deliveries in a row that found the database away
        self._retry_pending = False

    def on_start(self) -> None:
        db = self.ctx.deps["db"]
        sender = SmtpSender(self.config.smtp) if self.config.smtp is not None else None
        self.courier = Courier(
            db.pool,
            sender,
            mail_from=self.config.mail_from,
            worker=f"{self.config.worker}:{self.name}",
            retry=self.config.retry,
            batch_size=self.config.batch_size,
            lease=self.config.lease,
        )
        if sender is None:
            log.info("no SMTP configured: emails are held in the outbox")
        else:
            log.info("mailer delivering", extra={"smtp": self.config.smtp.describe()})  # type: ignore[union-attr]
        self._listen()
        self.tell_later(self.config.poll_interval, Tick())
        self._wake()

    def on_stop(self) -> None:
        self._shutdown()

    def on_failure(self, *exc_info: Any) -> None:
        self._shutdown()

    def handle(self, message: Any) -> Any:
        if isinstance(message, RetryDelivery):
            self._retry_pending = False
            return self._deliver()
        if isinstance(message, Tick):
            self.tell_later(self.config.poll_interval, Tick())
            return self._deliver()
        if isinstance(message, OutboxHasWork):
            return self._deliver()
        raise TypeError(f"{self.name} does not handle {message!r}")

    def _deliver(self) -> DeliveryReport:
        assert self.courier is not None
        try:
            report: DeliveryReport = self.run_io(
                self.courier.deliver_due(max_batches=1), timeout=self.config.lease.total_seconds()
            )
        except Exception as exc:
            if connection_error(exc) is None:
                raise
            return self._database_away(exc)
        if self._away:
            log.info("outbox reachable again", extra={"failures": self._away})
            self._away = 0
        if self._listener is None or self._listener.is_closed():
            self._listen()  # the database came back: hear commits again
        if report.claimed >= self.config.batch_size:
            self._wake()
        return report

    def _database_away(self, exc: BaseException) -> DeliveryReport:
        """The outbox cannot be read: mail stays where it is; look again soon,
        backing off, with one retry pending at a time."""
        self._away += 1
        delay = min(self.config.poll_interval, 0.5 * 2 ** min(self._away, 10))
        if self._away & (self._away - 1) == 0:  # the 1st, 2nd, 4th, 8th ... in a row
            log.warning(
                "outbox unreachable; mail waits for the database",
                extra={"error": repr(exc), "failures": self._away, "retry_in_seconds": delay},
            )
        if not self._retry_pending:
            self._retry_pending = True
            self.tell_later(delay, RetryDelivery())
        return DeliveryReport(errors=[f"database unavailable: {type(exc).__name__}"])

    def _listen(self) -> None:
        if self._stopped:
            return
        try:
            self._listener = self.run_io(
                listen(self.ctx.deps["db"].dsn, WAKE_CHANNEL, lambda _payload: self._wake()),
                timeout=10,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning(
                "outbox LISTEN unavailable; relying on the timer", extra={"error": repr(exc)}
            )

    # -- waking up ---------------------------------------------------------------

    def _wake(self) -> None:
        system = self.ctx.system
        if system is not None and not system.stopping and not self._stopped:
            with contextlib.suppress(Exception):  # the name is gone: we are stopping
                system.tell(self.name, OutboxHasWork())

    def _shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        loop = self.ctx.loop
        listener, self._listener = self._listener, None

        def cancel() -> None:
            if listener is not None and not listener.is_closed():
                loop.create_task(listener.close(timeout=5))

        with contextlib.suppress(RuntimeError):  # the loop is closed already
            loop.call_soon_threadsafe(cancel)

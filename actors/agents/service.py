"""Answering a question: cache, single flight, provider, fallback, record.

    memory cache → (miss) single flight → interactions table → (miss)
    built-in answer → model (if configured, within budget) → check →
    record the interaction → memory cache

Everything here runs on the server's event loop; the manager actor hands
questions over to it (see manager.py), so many questions are in flight at
once while the cache and the flights stay single-threaded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from actors.agents import metrics
from actors.agents.base import Agent
from actors.agents.budget import TokenBudget
from actors.agents.cache import AnswerCache, SingleFlight
from actors.agents.canonical import input_hash
from actors.agents.providers import OpenAIProvider, Rejected
from storage import agents as store

log = logging.getLogger(__name__)


class UnknownAgent(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"there is no agent {name!r}; agents: {', '.join(known)}")
        self.name = name
        self.known = known


@dataclass(frozen=True)
class Answer:
    """An agent's answer and how it came about. `cache_level` is "none" when
    a provider ran for this question, else the level that served it."""

    agent: str
    output: Any
    provider: str
    model: str | None
    reason: str | None
    cache_level: str
    interaction_id: int | None

    @property
    def cached(self) -> bool:
        return self.cache_level != "none"


@dataclass(frozen=True)
class _Stored:
    output: Any
    provider: str
    model: str | None
    reason: str | None
    interaction_id: int | None


class AgentService:
    def __init__(
        self,
        agents: Mapping[str, Agent[Any, Any]],
        *,
        pool: asyncpg.Pool,
        cache: AnswerCache,
        model: OpenAIProvider | None = None,
        budget: TokenBudget | None = None,
        deadline: float = 20.0,
    ) -> None:
        self.agents = dict(agents)
        self.pool = pool
        self.cache = cache
        self.model = model
        self.budget = budget
        self.deadline = deadline
        self._flights: SingleFlight[tuple[_Stored, str]] = SingleFlight()

    def agent(self, name: str) -> Agent[Any, Any]:
        try:
            return self.agents[name]
        except KeyError:
            raise UnknownAgent(name, sorted(self.agents)) from None

    async def close(self) -> None:
        if self.model is not None:
            await self.model.close()

    async def ask(
        self, name: str, payload: Any, *, user_id: str | None = None, priced: Any = None
    ) -> Answer:
        """Answer `payload` (the agent's input type, or a dict of it).
        `priced` is what the caller's engine already computed for it (see
        Agent.solve). Raises UnknownAgent, or msgspec.ValidationError for a
        bad payload."""
        started = time.perf_counter()
        agent = self.agent(name)
        data = agent.parse(payload)
        key = input_hash([agent.variant, data]) if agent.variant else input_hash(data)
        metrics.REQUESTS.labels(name).inc()

        stored = self.cache.get(name, key)
        if stored is not None:
            level = "memory"
        else:
            (stored, level), shared = await self._flights.do(
                f"{name}:{key}", lambda: self._resolve(agent, data, key, user_id, priced)
            )
            if shared:
                level = "inflight"
        elapsed = time.perf_counter() - started
        metrics.REQUEST_LATENCY.labels(name, level).observe(elapsed)
        if level == "none":
            return self._answer(name, stored, level, stored.interaction_id)
        metrics.CACHE_HITS.labels(name, level).inc()
        interaction_id = await self._record(
            agent,
            key,
            data,
            stored.output,
            provider=stored.provider,
            model=stored.model,
            cache_level=level,
            source_id=stored.interaction_id,
            error=stored.reason,
            user_id=user_id,
            seconds=elapsed,
        )
        return self._answer(name, stored, level, interaction_id)

    @staticmethod
    def _answer(name: str, stored: _Stored, level: str, interaction_id: int | None) -> Answer:
        return Answer(
            agent=name,
            output=stored.output,
            provider=stored.provider,
            model=stored.model,
            reason=stored.reason,
            cache_level=level,
            interaction_id=interaction_id,
        )

    async def _resolve(
        self,
        agent: Agent[Any, Any],
        data: msgspec.Struct,
        key: str,
        user_id: str | None,
        priced: Any,
    ) -> tuple[_Stored, str]:
        """The single flight's work: the second-level cache, else a provider."""
        stored = await self._stored_answer(agent, key)
        if stored is not None:
            self.cache.put(agent.name, key, stored)
            return stored, "database"
        stored = await self._produce(agent, data, key, user_id, priced)
        self.cache.put(agent.name, key, stored, stand_in=stored.reason is not None)
        return stored, "none"

    async def _stored_answer(self, agent: Agent[Any, Any], key: str) -> _Stored | None:
        ttl = self.cache.ttl(agent.name)
        if ttl <= 0:
            return None
        try:
            row = await store.find_answer(self.pool, agent.name, key, ttl)
            if row is None:
                return None
            output = msgspec.convert(row.output, agent.output_type, strict=False)
        except (asyncpg.PostgresError, OSError, msgspec.ValidationError):
            # An unreadable or unreachable second level is a miss, not an outage.
            log.exception("could not read a stored agent answer", extra={"agent": agent.name})
            return None
        return _Stored(output, row.provider, row.model, row.error, row.id)

    async def _produce(
        self,
        agent: Agent[Any, Any],
        data: msgspec.Struct,
        key: str,
        user_id: str | None,
        priced: Any,
    ) -> _Stored:
        started = time.perf_counter()
        # Milliseconds of Decimal schedules: kept off the loop other requests share.
        baseline, facts = await asyncio.to_thread(agent.solve, data, priced)
        builtin_seconds = time.perf_counter() - started
        output, provider, model, reason = baseline, "builtin", None, None
        spent: dict[str, Any] = {}
        if self.model is not None:
            try:
                answer = await self._ask_model(agent, data, facts, user_id)
            except Rejected as rejected:
                reason = rejected.reason
                metrics.FALLBACKS.labels(agent.name, rejected.kind).inc()
                if rejected.kind != "budget":
                    metrics.PROVIDER_CALLS.labels(agent.name, "openai", rejected.kind).inc()
                model = rejected.model
                spent = {
                    "tokens_in": rejected.tokens_in,
                    "tokens_out": rejected.tokens_out,
                    "cost_usd": rejected.cost_usd,
                }
            else:
                output, provider, model = answer.output, "openai", answer.model
                spent = {
                    "tokens_in": answer.tokens_in,
                    "tokens_out": answer.tokens_out,
                    "cost_usd": answer.cost_usd,
                }
                metrics.PROVIDER_CALLS.labels(agent.name, "openai", "ok").inc()
                metrics.PROVIDER_LATENCY.labels(agent.name, "openai").observe(answer.seconds)
        if provider == "builtin":
            metrics.PROVIDER_CALLS.labels(agent.name, "builtin", "ok").inc()
            metrics.PROVIDER_LATENCY.labels(agent.name, "builtin").observe(builtin_seconds)
        if spent:
            metrics.TOKENS.labels(agent.name, "in").inc(spent["tokens_in"])
            metrics.TOKENS.labels(agent.name, "out").inc(spent["tokens_out"])
            metrics.COST.labels(agent.name).inc(float(spent["cost_usd"]))
        interaction_id = await self._record(
            agent,
            key,
            data,
            output,
            provider=provider,
            model=model,
            cache_level="none",
            error=reason,
            user_id=user_id,
            seconds=time.perf_counter() - started,
            **spent,
        )
        return _Stored(output, provider, model, reason, interaction_id)

    async def _ask_model(
        self, agent: Agent[Any, Any], data: msgspec.Struct, facts: Any, user_id: str | None
    ) -> Any:
        assert self.model is not None
        if self.budget is not None:
            try:
                refusal = await self.budget.refusal(user_id)
            except (asyncpg.PostgresError, OSError):
                log.exception("could not read token usage", extra={"agent": agent.name})
                refusal = "the daily token budget could not be checked"
            if refusal is not None:
                raise Rejected("budget", refusal)
        try:
            async with asyncio.timeout(self.deadline):
                return await self.model.answer(agent, data, facts, user_id=user_id)
        except TimeoutError:
            raise Rejected(
                "timeout",
                f"timeout: no answer within {self.deadline:g} seconds",
                model=self.model.model,
            ) from None
        except Rejected:
            raise
        except Exception as exc:
            # The built-in answer is ready; no model failure may cost the user it.
            log.exception("the model provider failed", extra={"agent": agent.name})
            raise Rejected(
                "error", f"error: {type(exc).__name__}", model=self.model.model
            ) from None

    async def _record(
        self,
        agent: Agent[Any, Any],
        key: str,
        data: msgspec.Struct,
        output: Any,
        *,
        provider: str,
        model: str | None,
        cache_level: str,
        user_id: str | None,
        seconds: float,
        source_id: int | None = None,
        error: str | None = None,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost_usd: Decimal = Decimal(0),
    ) -> int | None:
        try:
            interaction_id, _ = await store.record_interaction(
                self.pool,
                agent=agent.name,
                input_hash=key,
                input=msgspec.to_builtins(data),
                output=msgspec.to_builtins(output),
                provider=provider,
                model=model,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                cost_usd=cost_usd,
                latency_ms=Decimal(round(seconds * 1000, 3)).quantize(Decimal("0.001")),
                cache_level=cache_level,
                source_id=source_id,
                error=error,
                user_id=user_id,
            )
        except (asyncpg.PostgresError, OSError):
            # The answer is still good; losing its record must not lose it.
            log.exception("could not record an agent interaction", extra={"agent": agent.name})
            return None
        return interaction_id

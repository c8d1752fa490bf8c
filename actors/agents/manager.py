"""The agent manager actor: the named door to the agents ("agents.manager").

A question can take a model many seconds, and a thousand other questions
(most of them cache hits) must not queue behind it, so the actor does not
answer in its own thread: it hands each question to the AgentService on the
server's loop and replies with the pending answer at once. `ask_agent`
awaits that answer; it is the one call the rest of the server needs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass
from typing import Any

from actors.agents.budget import TokenBudget
from actors.agents.cache import AnswerCache
from actors.agents.options import AgentOptions
from actors.agents.providers import OpenAIProvider
from actors.agents.registry import agents_pricing_with
from actors.agents.service import AgentService, Answer
from actors.calculation.flow import ADVISOR, ADVISOR_ACTOR, Advise
from actors.calculation.pricing import load_grid
from actors.runtime import ActorContext, ActorSystem, RatelineActor
from protocols.openai_adapter import OpenAIChat

MANAGER = ADVISOR_ACTOR
"""The calculation asks this name for advice (flow.Advise)."""


@dataclass(frozen=True)
class AskAgent:
    """Ask `agent` about `input` (its input struct, or a dict of one).
    `user_id` counts the call against that user's token budget.

    The reply is a concurrent.futures.Future[Answer], settled on the server
    loop; `await asyncio.wrap_future(reply)` (which ask_agent does). Dropping
    the wait does not cancel the work: the answer still reaches the cache."""

    agent: str
    input: Any
    user_id: str | None = None


def build_service(options: AgentOptions, pool: Any) -> AgentService:
    agents = agents_pricing_with(load_grid(options.llpa_path) if options.llpa_path else None)
    cache = AnswerCache(
        {name: options.ttl_for(name, agent.ttl) for name, agent in agents.items()},
        timer=options.timer,
    )
    model = None
    budget = None
    if options.openai_api_key:
        model = OpenAIProvider(
            OpenAIChat(
                api_key=options.openai_api_key,
                base_url=options.openai_base_url,
                model=options.openai_model,
                timeout=options.deadline,
                max_retries=options.max_retries,
                backoff=options.backoff,
            )
        )
        budget = TokenBudget(
            pool,
            daily_tokens=options.daily_tokens,
            user_daily_tokens=options.user_daily_tokens,
        )
    return AgentService(
        agents, pool=pool, cache=cache, model=model, budget=budget, deadline=options.deadline
    )


class AgentManager(RatelineActor):
    """Owns the AgentService for its incarnation: a restart starts with an
    empty memory cache, and the interactions table refills it."""

    def __init__(self, ctx: ActorContext, options: AgentOptions | None = None) -> None:
        super().__init__(ctx)
        self.options = options or AgentOptions.from_settings(ctx.deps["settings"])
        self.service: AgentService | None = None

    def on_start(self) -> None:
        self.service = build_service(self.options, self.ctx.deps["db"].pool)

    def on_stop(self) -> None:
        if self.service is not None:
            self.run_io(self.service.close(), timeout=5.0)

    def handle(self, message: Any) -> Any:
        assert self.service is not None
        if isinstance(message, AskAgent):
            self.service.agent(message.agent)  # an unknown name fails here, plainly
            return asyncio.run_coroutine_threadsafe(
                self.service.ask(message.agent, message.input, user_id=message.user_id),
                self.ctx.loop,
            )
        if isinstance(message, Advise):
            return asyncio.run_coroutine_threadsafe(
                self.service.ask(
                    ADVISOR, message.question, user_id=message.user_id, priced=message.quotes
                ),
                self.ctx.loop,
            )
        raise TypeError(f"{MANAGER} does not understand {type(message).__name__}")


async def ask_agent(
    system: ActorSystem,
    agent: str,
    input: Any,
    *,
    user_id: str | None = None,
    deadline: float = 30.0,
) -> Answer:
    """Ask an agent through the manager and await the answer.

    Raises UnknownAgent, msgspec.ValidationError for an input that does not
    fit the agent, TimeoutError after `deadline` seconds, or the runtime's errors
    when the manager is down.
    """
    pending = await system.ask(MANAGER, AskAgent(agent, input, user_id), timeout=5.0)
    future: concurrent.futures.Future[Answer] = pending
    async with asyncio.timeout(deadline):
        return await asyncio.wrap_future(future)

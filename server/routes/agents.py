"""AI agents over HTTP: one typed POST per registered agent, and the
interaction log for administrators."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import msgspec
from aiohttp import web

from actors.agents import AGENTS, Answer, UnknownAgent, ask_agent
from actors.runtime import ActorUnavailable
from protocols.api.agents import (
    InteractionsPage,
    InteractionsQuery,
    InteractionView,
    answer_type,
    check_input,
)
from protocols.problems import Problem
from server import keys
from server.anonymous_limits import limit_anonymous
from server.auth import current_user
from server.routing import ApiRoutes
from storage.agents import list_interactions

routes = ApiRoutes(tag="agents")


class AgentInfo(msgspec.Struct):
    name: str
    summary: str


async def _user_id(request: web.Request) -> str | None:
    """Signed-in callers are counted against their own token budget; anyone
    may ask (the built-in advisor costs nothing)."""
    user = await current_user(request)
    return None if user is None else str(user.id)


def respond(answer: Answer) -> msgspec.Struct:
    """The agent's output and how it was answered, as one flat object."""
    fields = msgspec.structs.asdict(answer.output)
    return answer_type(type(answer.output))(
        **fields,
        provider=answer.provider,
        cached=answer.cached,
        interaction_id=answer.interaction_id,
        model=answer.model,
        reason=answer.reason,
    )


async def _ask(request: web.Request, name: str, body: Any) -> msgspec.Struct:
    await limit_anonymous(request)
    settings = request.app[keys.CONFIG]
    try:
        answer = await ask_agent(
            request.app[keys.SYSTEM],
            name,
            body,
            user_id=await _user_id(request),
            deadline=settings.openai_timeout + 15.0,
        )
    except TimeoutError:
        raise Problem(504, "The agent did not answer in time", "try again shortly") from None
    except ActorUnavailable:
        raise Problem(503, "Agents are unavailable", "try again shortly") from None
    return respond(answer)


def _agent_route(name: str, input_type: Any, output_type: Any, summary: str) -> None:
    async def handler(request: web.Request, body: Any) -> msgspec.Struct:
        return await _ask(request, name, body)

    handler.__name__ = f"ask_{name}"
    routes.post(
        f"/api/agents/{name}",
        body=input_type,
        check=check_input,
        response=answer_type(output_type),
        summary=summary,
    )(handler)


for _name, _agent in AGENTS.items():
    _agent_route(
        _name,
        _agent.input_type,
        _agent.output_type,
        (_agent.__doc__ or _name).strip().split("\n")[0],
    )


@routes.get("/api/agents", response=list[AgentInfo], summary="The agents one can ask")
async def list_agents(request: web.Request) -> list[AgentInfo]:
    return [
        AgentInfo(name, (agent.__doc__ or "").strip().split("\n")[0])
        for name, agent in sorted(AGENTS.items())
    ]


# Not a real operation, so not in the document; the pattern keeps it off
# /api/agents/interactions, whose only method is GET (so says its Allow).
@routes.post(
    "/api/agents/{agent:(?!interactions$)[^/]+}",
    summary="Any other name: 404 listing the agents",
    documented=False,
)
async def unknown_agent(request: web.Request) -> None:
    name = request.match_info["agent"]
    known = sorted(AGENTS)
    raise Problem(
        404,
        "No such agent",
        str(UnknownAgent(name, known)),
    )


@routes.get(
    "/api/agents/interactions",
    query=InteractionsQuery,
    response=InteractionsPage,
    summary="Questions put to the agents and how they were answered, newest first",
    auth="admin",
)
async def interactions(request: web.Request, query: InteractionsQuery) -> InteractionsPage:
    items, total = await list_interactions(
        request.app[keys.DB].pool,
        limit=query.limit,
        offset=query.offset,
        agent=query.agent,
        user_id=query.user_id,
    )
    return InteractionsPage(
        items=[InteractionView(**asdict(item)) for item in items],
        total=total,
        limit=query.limit,
        offset=query.offset,
    )

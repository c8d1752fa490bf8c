"""An OpenAI-compatible chat completions server the agent tests drive, a
clock the tests move by hand, and a factory for the agent service wired the
way the manager wires it."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from actors.agents import AgentOptions, AgentService, build_service
from actors.calculation.pricing import DEFAULT_GRID_PATH as LLPA_GRID
from storage.database import Database

MODEL = "gpt-4o-mini"
SNAPSHOT = "gpt-4o-mini-2024-07-18"


@dataclass
class Reply:
    """A completion. Without `content` the server plays a model that words
    the engine's facts its own way (and keeps every figure)."""

    content: str | None = None
    prompt_tokens: int = 1200
    completion_tokens: int = 300
    delay: float = 0.0


@dataclass
class Fail:
    status: int
    message: str = "try again later"


@dataclass
class Raw:
    """A response body that is not what the API promises."""

    body: str
    status: int = 200


@dataclass
class FakeOpenAI:
    script: deque[Any] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    called: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    def then(self, *steps: Any) -> None:
        self.script.extend(steps)

    @property
    def calls(self) -> int:
        return len(self.requests)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        return app

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.called.set()
        step = self.script.popleft() if self.script else Reply()
        if isinstance(step, Fail):
            kind = "rate_limit_exceeded" if step.status == 429 else "server_error"
            return web.json_response(
                {"error": {"message": step.message, "type": kind, "code": kind}},
                status=step.status,
            )
        if isinstance(step, Raw):
            return web.Response(text=step.body, status=step.status, content_type="application/json")
        if step.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), step.delay)
        content = step.content if step.content is not None else reworded(body)
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_764_400_000,
                "model": SNAPSHOT,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": step.prompt_tokens,
                    "completion_tokens": step.completion_tokens,
                    "total_tokens": step.prompt_tokens + step.completion_tokens,
                },
            }
        )


def engine_facts(request_body: dict[str, Any]) -> dict[str, Any]:
    user = next(m["content"] for m in request_body["messages"] if m["role"] == "user")
    facts: dict[str, Any] = orjson.loads(user)["ENGINE_FACTS"]
    return facts


def reworded(request_body: dict[str, Any]) -> str:
    """What a well-behaved model answers: the engine's findings, its own words."""
    facts = engine_facts(request_body)
    if "candidates" in facts:
        picked = facts["candidates"][:4]
        return orjson.dumps(
            {"recommendations": [{**c, "title": "Worth a look: " + c["title"]} for c in picked]}
        ).decode()
    return orjson.dumps({**facts, "reasons": ["In short: " + r for r in facts["reasons"]]}).decode()


@contextlib.asynccontextmanager
async def running_fake_openai(aiohttp_server: Callable[..., Any]) -> AsyncIterator[FakeOpenAI]:
    """Serve a FakeOpenAI on a free port for the length of the block (the
    `aiohttp_server` fixture stops the server after the test)."""
    fake = FakeOpenAI()
    server = await aiohttp_server(fake.app())
    fake.base_url = str(server.make_url("/v1"))
    try:
        yield fake
    finally:
        fake.release.set()  # a stalled answer ends now, not at its delay


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def options(fake: FakeOpenAI | None = None, **overrides: Any) -> AgentOptions:
    values: dict[str, Any] = {
        "openai_api_key": "sk-test" if fake is not None else None,
        "openai_base_url": fake.base_url if fake is not None else None,
        "openai_model": MODEL,
        "deadline": 2.0,
        "max_retries": 2,
        "backoff": 0.01,
    }
    values.update(overrides)
    return AgentOptions(**values)


def service(db: Database, fake: FakeOpenAI | None = None, **overrides: Any) -> AgentService:
    return build_service(options(fake, **overrides), db.pool)


ADVICE_REQUEST: dict[str, Any] = {
    "price": "400000",
    "down_payment": "40000",
    "credit_score": 720,
    "state": "CA",
    "market_rates": {"30y_fixed": "6.5", "15y_fixed": "5.75", "5_6_arm": "6.0"},
}

LEAD_REQUEST: dict[str, Any] = {
    "loan_amount": "320000",
    "home_price": "400000",
    "monthly_income": "12000",
    "monthly_debts": "500",
    "credit_score": 760,
    "timeline_months": 2,
    "rate": "6.5",
}


def flat_llpa_grid(folder: Path) -> Path:
    """The shipped LLPA grid with every purchase adjustment zero, as a file."""
    shipped = orjson.loads(LLPA_GRID.read_bytes())
    flat = {**shipped, "purchase": [["0"] * len(row) for row in shipped["purchase"]]}
    path = folder / "no-adjustments.json"
    path.write_bytes(orjson.dumps(flat))
    return path

"""The model provider: asks OpenAI to phrase what the engine computed, and
refuses any answer that is malformed or quotes figures nobody computed.

It never falls back by itself; it raises `Rejected` with a reason and the
service answers with the built-in advisor, saying why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
import orjson

from actors.agents.base import Agent
from actors.agents.canonical import canonical
from protocols.openai_adapter import LLMFailure, OpenAIChat, estimate_cost

RULES = """
Answer with one JSON object matching the given schema and nothing else.
ENGINE_FACTS were computed by the platform's mortgage engine from the INPUT.
Quote figures only as they appear in ENGINE_FACTS or INPUT (you may round
money to whole dollars). Never compute, estimate or invent a number.
""".strip()


@dataclass(frozen=True)
class ModelAnswer:
    output: msgspec.Struct
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal
    seconds: float


class Rejected(Exception):
    """No trustworthy model answer. `kind` names the failure for metrics;
    token counts say what the attempt still cost."""

    def __init__(
        self,
        kind: str,
        reason: str,
        *,
        model: str | None = None,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost_usd: Decimal = Decimal(0),
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.model = model
        self.tokens_in = tokens_in
        self.tokens_out = tokens_out
        self.cost_usd = cost_usd


class OpenAIProvider:
    name = "openai"

    def __init__(self, chat: OpenAIChat) -> None:
        self.chat = chat
        self._schemas: dict[str, dict[str, Any]] = {}

    @property
    def model(self) -> str:
        return self.chat.model

    async def close(self) -> None:
        await self.chat.close()

    def messages(self, agent: Agent[Any, Any], data: msgspec.Struct, facts: Any) -> tuple[str, str]:
        system = f"{agent.prompt.strip()}\n\n{RULES}"
        user = orjson.dumps(
            {"INPUT": canonical(data), "ENGINE_FACTS": facts}, option=orjson.OPT_INDENT_2
        ).decode()
        return system, user

    async def answer(
        self,
        agent: Agent[Any, Any],
        data: msgspec.Struct,
        facts: Any,
        *,
        user_id: str | None = None,
    ) -> ModelAnswer:
        system, user = self.messages(agent, data, facts)
        started = time.perf_counter()
        try:
            completion = await self.chat.complete_json(
                system=system,
                user=user,
                schema_name=agent.name,
                schema=self._schema(agent),
                user_id=user_id,
            )
        except LLMFailure as failure:
            raise Rejected(
                failure.kind,
                f"{failure.kind}: {failure.detail} after {failure.attempts} attempt(s)",
                model=self.model,
            ) from None
        cost = estimate_cost(completion.model, completion.tokens_in, completion.tokens_out)

        def rejected(kind: str, reason: str) -> Rejected:
            return Rejected(
                kind,
                reason,
                model=completion.model,
                tokens_in=completion.tokens_in,
                tokens_out=completion.tokens_out,
                cost_usd=cost,
            )

        try:
            output = msgspec.json.decode(completion.content, type=agent.output_type)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise rejected("invalid_output", f"invalid answer: {exc}") from None
        problem = agent.check(data, output, facts)
        if problem is not None:
            raise rejected("figure_check", problem)
        return ModelAnswer(
            output=output,
            model=completion.model,
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            cost_usd=cost,
            seconds=time.perf_counter() - started,
        )

    def _schema(self, agent: Agent[Any, Any]) -> dict[str, Any]:
        schema = self._schemas.get(agent.name)
        if schema is None:
            schema = self._schemas[agent.name] = msgspec.json.schema(agent.output_type)
        return schema

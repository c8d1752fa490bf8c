"""OpenAI chat completions, spoken through the official client.

The client's own retry loop is switched off and replaced by ours so the
backoff is configurable (tests keep it at milliseconds) and every attempt is
counted. Callers get either a `Completion` with the token usage or an
`LLMFailure` whose `kind` says what went wrong, never a raw client exception.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import openai
from openai import AsyncOpenAI, omit
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from protocols.backoff import backoff_delay

# US dollars per million tokens (input, output), by model family. A dated
# snapshot ("gpt-4o-mini-2024-07-18") is priced as its family.
PRICES_PER_MILLION: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
    "gpt-5-nano": (Decimal("0.05"), Decimal("0.40")),
    "gpt-5-mini": (Decimal("0.25"), Decimal("2.00")),
    "gpt-5": (Decimal("1.25"), Decimal("10.00")),
}
# Unknown models are priced like a mid-range one rather than as free.
DEFAULT_PRICE = (Decimal("2.50"), Decimal("10.00"))
_MILLION = Decimal(1_000_000)
_COST_PLACES = Decimal("0.000001")


def estimate_cost(model: str, tokens_in: int, tokens_out: int) -> Decimal:
    """Estimated dollars for one call, to the millionth of a dollar."""
    family = max(
        (name for name in PRICES_PER_MILLION if model == name or model.startswith(name + "-")),
        key=len,
        default=None,
    )
    price_in, price_out = PRICES_PER_MILLION[family] if family else DEFAULT_PRICE
    cost = (price_in * tokens_in + price_out * tokens_out) / _MILLION
    return cost.quantize(_COST_PLACES)


@dataclass(frozen=True)
class Completion:
    content: str
    model: str
    tokens_in: int
    tokens_out: int
    attempts: int


class LLMFailure(Exception):
    """The model gave no usable answer. `kind` is one of: timeout,
    rate_limited, server_error, connection, refused (a 4xx other than 429),
    malformed (an unreadable response), empty (no content)."""

    def __init__(self, kind: str, detail: str, *, attempts: int = 0) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.attempts = attempts


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Reshape a msgspec JSON schema for structured outputs: the root must be
    an object (not a $ref), and string formats the API does not know go."""

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: clean(value)
                for key, value in node.items()
                if not (key == "format" and value == "decimal")
            }
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    schema = clean(schema)
    ref = schema.get("$ref")
    defs = dict(schema.get("$defs", {}))
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        root = dict(defs.pop(ref.rsplit("/", 1)[1]))
        if defs:
            root["$defs"] = defs
        return root
    return schema


class OpenAIChat:
    """One configured model endpoint."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = 20.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
    ) -> None:
        self.model = model
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._client = AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def close(self) -> None:
        await self._client.close()

    async def complete_json(
        self,
        *,
        system: str,
        user: str,
        schema_name: str,
        schema: dict[str, Any],
        user_id: str | None = None,
    ) -> Completion:
        """Ask for a JSON answer shaped by `schema`, retrying what is worth
        retrying (429, 5xx, timeouts, dropped connections) with backoff."""
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        response_format: ResponseFormatJSONSchema = {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "schema": strict_schema(schema), "strict": True},
        }
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    response_format=response_format,
                    temperature=0,
                    safety_identifier=user_id if user_id else omit,
                )
            except openai.APIStatusError as exc:
                kind = _status_kind(exc.status_code)
                if kind is None or attempt > self.max_retries:
                    raise LLMFailure(
                        kind or "refused", f"HTTP {exc.status_code}", attempts=attempt
                    ) from None
            except openai.APITimeoutError:
                if attempt > self.max_retries:
                    raise LLMFailure("timeout", "no answer in time", attempts=attempt) from None
            except openai.APIConnectionError as exc:
                if attempt > self.max_retries:
                    raise LLMFailure("connection", str(exc), attempts=attempt) from None
            except (openai.OpenAIError, ValueError) as exc:
                raise LLMFailure(
                    "malformed", f"unreadable response: {exc}", attempts=attempt
                ) from None
            else:
                return _completion(response, attempt, self.model)
            await asyncio.sleep(
                backoff_delay(attempt - 1, initial=self.backoff, cap=self.max_backoff, jitter=0.25)
            )


def _status_kind(status: int) -> str | None:
    if status == 429:
        return "rate_limited"
    if status >= 500 or status == 408:
        return "server_error"
    return None


def _completion(response: Any, attempts: int, requested_model: str) -> Completion:
    choices = getattr(response, "choices", None) or []
    content = choices[0].message.content if choices and choices[0].message else None
    if not isinstance(content, str) or not content.strip():
        raise LLMFailure("empty", "the answer has no content", attempts=attempts)
    usage = getattr(response, "usage", None)
    return Completion(
        content=content,
        model=getattr(response, "model", None) or requested_model,
        tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
        tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
        attempts=attempts,
    )

"""What an agent is: a name, an input type, an output type, a prompt, and
the built-in rules that answer when no model is configured or a model's
answer cannot be trusted.

The built-in answer is always computed first (milliseconds, off the event
loop), and doubles as the engine's facts a model is shown and held to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

from actors.agents.figures import figures_of, unknown_figures

In = TypeVar("In", bound=msgspec.Struct)
Out = TypeVar("Out", bound=msgspec.Struct)


class Agent(ABC, Generic[In, Out]):
    name: ClassVar[str]
    input_type: ClassVar[type[msgspec.Struct]]
    output_type: ClassVar[type[msgspec.Struct]]
    prompt: ClassVar[str]
    # Seconds an answer stays cached; None takes the server-wide default.
    ttl: ClassVar[float | None] = None
    # What besides the input shapes the answer; it joins the cache key, so a
    # changed pricing grid never gets answers cached under the old one.
    variant: str = ""

    @abstractmethod
    def builtin(self, data: In) -> Out:
        """The deterministic answer, computed from real numbers."""

    def solve(self, data: In, priced: Any = None) -> tuple[Out, Any]:
        """The built-in answer, and the engine's facts a model is shown and
        held to (JSON-ready; by default the built-in answer itself).
        `priced` is what the asker's engine already computed for `data`,
        when it has it, so the agent need not compute it again."""
        baseline = self.builtin(data)
        return baseline, msgspec.to_builtins(baseline)

    def check(self, data: In, answer: Out, facts: Any) -> str | None:
        """Why a model's (already well-typed) answer must be rejected, or None.
        The default rejects any figure the engine or the user did not give."""
        allowed: set[Decimal] = figures_of(data, facts)
        bad = unknown_figures(answer, allowed)
        if bad:
            quoted = ", ".join(str(b) for b in bad[:5])
            return f"figure check: the answer quotes {quoted}, which the engine did not produce"
        return None

    def parse(self, raw: Any) -> In:
        """Turn a message payload (struct or plain dict) into the input type."""
        if isinstance(raw, self.input_type):
            return raw  # type: ignore[return-value]
        result: In = msgspec.convert(raw, self.input_type, strict=False)  # type: ignore[assignment]
        return result

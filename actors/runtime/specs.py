"""Declarative supervision trees, in the shape of OTP child specs.

Specs are frozen values checked when they are built, so a typo in a strategy
or a duplicated name fails at import time of the server, not at 3 a.m. on
the first crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pykka

    from actors.runtime.actor import ActorContext, RatelineActor

Restart = Literal["permanent", "transient", "temporary"]
Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]

_RESTARTS = ("permanent", "transient", "temporary")
_STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")


@dataclass(frozen=True)
class ChildSpec:
    """One worker under a supervisor.

    `factory` is either a RatelineActor subclass (started with
    `cls.start(ctx, *args, **kwargs)`) or a callable taking the context and
    starting a RatelineActor built with that same context.
    """

    name: str
    factory: Callable[[ActorContext], pykka.ActorRef[Any]] | type[RatelineActor]
    restart: Restart = "permanent"
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)
    start_timeout: float = 30.0
    shutdown_timeout: float = 5.0

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.restart not in _RESTARTS:
            raise ValueError(f"{self.name}: restart must be one of {_RESTARTS}: {self.restart!r}")
        if not callable(self.factory):
            raise TypeError(f"{self.name}: factory must be an actor class or a callable")


@dataclass(frozen=True)
class SupervisorSpec:
    """A supervisor and its children, started in order and stopped in reverse."""

    name: str
    children: Sequence[ChildSpec | SupervisorSpec]
    strategy: Strategy = "one_for_one"
    max_restarts: int = 3
    period: float = 5.0
    backoff_initial: float = 0.01
    backoff_max: float = 1.0
    restart: Restart = "permanent"

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.strategy not in _STRATEGIES:
            raise ValueError(
                f"{self.name}: strategy must be one of {_STRATEGIES}, not {self.strategy!r}"
            )
        if self.restart not in _RESTARTS:
            raise ValueError(f"{self.name}: restart must be one of {_RESTARTS}: {self.restart!r}")
        if self.max_restarts < 0 or self.period <= 0:
            raise ValueError(f"{self.name}: max_restarts must be >= 0 and period > 0")
        if not 0 <= self.backoff_initial <= self.backoff_max:
            raise ValueError(f"{self.name}: need 0 <= backoff_initial <= backoff_max")
        object.__setattr__(self, "children", tuple(self.children))
        seen: set[str] = set()
        for spec in walk(self):
            if spec.name in seen:
                raise ValueError(f"actor name {spec.name!r} is used twice in {self.name}")
            seen.add(spec.name)


def walk(spec: ChildSpec | SupervisorSpec) -> Iterator[ChildSpec | SupervisorSpec]:
    """Every spec in the tree, parents before children, in start order."""
    yield spec
    if isinstance(spec, SupervisorSpec):
        for child in spec.children:
            yield from walk(child)


def pool(
    prefix: str,
    size: int,
    factory: Callable[[ActorContext], pykka.ActorRef[Any]] | type[RatelineActor],
    *,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    restart: Restart = "permanent",
) -> list[ChildSpec]:
    """Specs for `size` identical workers named prefix.1 … prefix.N, for ask_any(prefix)."""
    if size < 1:
        raise ValueError("a pool needs at least one worker")
    return [
        ChildSpec(
            name=f"{prefix}.{i}",
            factory=factory,
            restart=restart,
            args=args,
            kwargs=dict(kwargs or {}),
        )
        for i in range(1, size + 1)
    ]


def _check_name(name: str) -> None:
    if not name or name != name.strip():
        raise ValueError(f"actor name must be non-empty without surrounding spaces: {name!r}")

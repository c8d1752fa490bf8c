"""The calculation workers in the supervision tree: a pool of
RATELINE_CALC_WORKERS actors named calculation.1 … calculation.N under their
own supervisor, reached with `system.ask_any(POOL, Calculate(...))`."""

from __future__ import annotations

from actors.calculation.actor import CalcOptions, CalculationActor
from actors.runtime import ChildSpec, SupervisorSpec, pool
from ops.config import Settings

POOL = "calculation"
SUPERVISOR = "calculation"


def options_from_settings(settings: Settings) -> CalcOptions:
    path = settings.llpa_path
    return CalcOptions(
        advice_seconds=settings.calc_advice_seconds, llpa_path=str(path) if path else None
    )


def child_specs(
    settings: Settings,
    options: CalcOptions | None = None,
    *,
    actor: type[CalculationActor] = CalculationActor,
) -> list[ChildSpec | SupervisorSpec]:
    """The pool's supervisor; a worker that dies is restarted alone."""
    return [
        SupervisorSpec(
            name=SUPERVISOR,
            children=pool(
                POOL,
                settings.calc_workers,
                actor,
                kwargs={"options": options or options_from_settings(settings)},
            ),
            strategy="one_for_one",
            max_restarts=5,
            period=10.0,
        )
    ]

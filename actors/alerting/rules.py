"""Alert rules: what they say, and reading them from a file.

A rule watches one of our own metrics through a function (`value`, `rate`,
`ratio`, `quantile`, `age`), compares the result with a threshold, and must
hold for `for` before it fires. The same Rule is evaluated here
(actors.alerting.evaluate) and exported as PromQL (actors.alerting.promql),
so the two cannot disagree.

Label matchers are a mapping of label to value; a value that starts with
`~` is a regular expression that must match the whole label (`"~5.."`).
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

Function = Literal["value", "rate", "ratio", "quantile", "age"]
Severity = Literal["critical", "warning", "info"]
Op = Literal[">", ">=", "<", "<=", "==", "!="]

COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_TEMPLATE_PART = re.compile(r"^\s*\$(value|labels\.[A-Za-z_][A-Za-z0-9_]*)\s*$")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class RulesError(ValueError):
    """A rule is not valid; the message names the rule and the field."""


def parse_duration(text: str) -> float:
    """`15s`, `2m`, `1h`, `500ms`, `1d` -> seconds (Prometheus' whole-number form)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration; write a whole number and a unit: 15s, 2m, 1h"
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: float) -> str:
    """Seconds -> the shortest Prometheus duration that says it exactly."""
    millis = round(seconds * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis and millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"


@dataclass(frozen=True)
class Matcher:
    """One label condition: equal to `value`, or matching it as a regex."""

    label: str
    value: str
    regex: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, label: str, text: str) -> Matcher:
        if text.startswith("~"):
            return cls(label, text[1:], re.compile(text[1:]))
        return cls(label, text)

    def matches(self, labels: Mapping[str, str]) -> bool:
        got = labels.get(self.label, "")
        if self.regex is not None:
            return self.regex.fullmatch(got) is not None
        return got == self.value


def parse_matchers(labels: Mapping[str, str]) -> tuple[Matcher, ...]:
    return tuple(Matcher.parse(k, v) for k, v in sorted(labels.items()))


def matches_all(matchers: tuple[Matcher, ...], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


@dataclass(frozen=True)
class Rule:
    name: str
    metric: str
    function: Function
    op: Op
    threshold: float
    severity: Severity
    summary: str
    matchers: tuple[Matcher, ...] = ()
    window: float = 60.0
    for_: float = 0.0
    keep_firing_for: float = 0.0
    metric_over: str | None = None
    matchers_over: tuple[Matcher, ...] = ()
    q: float | None = None
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def holds(self, value: float) -> bool:
        return COMPARE[self.op](value, self.threshold)


class RuleSpec(msgspec.Struct, forbid_unknown_fields=True, rename={"for_": "for"}):
    """A rule as written in a rules file (and in the built-in list)."""

    name: str
    metric: str
    function: Function
    op: Op
    threshold: float
    severity: Severity
    summary: str
    labels: dict[str, str] = {}
    window: str = "1m"
    for_: str = "0s"
    keep_firing_for: str = "0s"
    metric_over: str | None = None
    labels_over: dict[str, str] = {}
    q: float | None = None
    description: str = ""
    alert_labels: dict[str, str] = {}


class RulesFile(msgspec.Struct, forbid_unknown_fields=True):
    rules: list[dict[str, Any]]


def _check_template(field_name: str, text: str) -> None:
    for part in _TEMPLATE.findall(text):
        if not _TEMPLATE_PART.match(part):
            raise ValueError(
                f"{field_name}: {{{{{part}}}}} is not supported; "
                "quote {{ $value }} or {{ $labels.<name> }}"
            )


def _check_labels(field_name: str, labels: Mapping[str, str]) -> None:
    for name, value in labels.items():
        if not _LABEL_NAME.match(name):
            raise ValueError(f"{field_name}: {name!r} is not a label name")
        if value.startswith("~"):
            try:
                re.compile(value[1:])
            except re.error as exc:
                raise ValueError(f"{field_name}.{name}: bad regular expression: {exc}") from None


def build_rule(spec: RuleSpec) -> Rule:
    """Check what a struct cannot say by its types; ValueError names the field."""
    if not _LABEL_NAME.match(spec.name):
        raise ValueError("name: letters, digits and _ only, not starting with a digit")
    for name, text in (("metric", spec.metric), ("metric_over", spec.metric_over)):
        if text is not None and not _METRIC_NAME.match(text):
            raise ValueError(f"{name}: {text!r} is not a metric name")
    durations = {}
    for name in ("window", "for_", "keep_firing_for"):
        try:
            durations[name] = parse_duration(getattr(spec, name))
        except ValueError as exc:
            raise ValueError(f"{name.rstrip('_')}: {exc}") from None
    if spec.function in ("rate", "ratio", "quantile") and durations["window"] <= 0:
        raise ValueError(f"window: {spec.function} needs a window longer than 0s")
    if spec.function == "ratio" and spec.metric_over is None:
        raise ValueError("metric_over: ratio needs the metric to divide by")
    if spec.function != "ratio" and (spec.metric_over is not None or spec.labels_over):
        raise ValueError("metric_over: only a ratio divides by another metric")
    if spec.function == "quantile":
        if spec.q is None or not 0 <= spec.q <= 1:
            raise ValueError("q: quantile needs q between 0 and 1, e.g. 0.99")
    elif spec.q is not None:
        raise ValueError("q: only a quantile takes q")
    _check_labels("labels", spec.labels)
    _check_labels("labels_over", spec.labels_over)
    _check_labels("alert_labels", spec.alert_labels)
    _check_template("summary", spec.summary)
    _check_template("description", spec.description)
    return Rule(
        name=spec.name,
        metric=spec.metric,
        function=spec.function,
        op=spec.op,
        threshold=spec.threshold,
        severity=spec.severity,
        summary=spec.summary,
        matchers=parse_matchers(spec.labels),
        window=durations["window"],
        for_=durations["for_"],
        keep_firing_for=durations["keep_firing_for"],
        metric_over=spec.metric_over,
        matchers_over=parse_matchers(spec.labels_over),
        q=spec.q,
        description=spec.description,
        labels=dict(spec.alert_labels),
    )


def _field_of(error: msgspec.ValidationError) -> str:
    text = str(error)
    match = re.search(r"at `\$\.?(.*?)`", text)
    return f"{match.group(1)}: {text}" if match else text


def rules_from_data(data: Any, source: str) -> list[Rule]:
    """Rules from decoded JSON/YAML; RulesError names the rule and the field."""
    try:
        document = msgspec.convert(data, RulesFile)
    except msgspec.ValidationError as exc:
        raise RulesError(f'{source}: {exc}; expected {{"rules": [...]}}') from None
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(document.rules):
        label = f"rule {raw.get('name')!r} (rules[{index}])" if "name" in raw else f"rules[{index}]"
        try:
            rule = build_rule(msgspec.convert(raw, RuleSpec))
        except msgspec.ValidationError as exc:
            raise RulesError(f"{source}: {label}: {_field_of(exc)}") from None
        except ValueError as exc:
            raise RulesError(f"{source}: {label}: {exc}") from None
        if rule.name in seen:
            raise RulesError(f"{source}: {label}: name: {rule.name!r} is used twice")
        seen.add(rule.name)
        rules.append(rule)
    return rules


def load_rules_file(path: Path) -> list[Rule]:
    """Read RATELINE_ALERT_RULES (JSON)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"RATELINE_ALERT_RULES: cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RulesError(f"{path}: not JSON: {exc}") from None
    return rules_from_data(data, str(path))


def render_template(text: str, value: float, labels: Mapping[str, str]) -> str:
    """Fill `{{ $value }}` and `{{ $labels.x }}` as Prometheus would."""

    def fill(match: re.Match[str]) -> str:
        part = match.group(1).strip()
        if part == "$value":
            return format_value(value)
        return labels.get(part[len("$labels.") :], "")

    return _TEMPLATE.sub(fill, text)


def format_value(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"

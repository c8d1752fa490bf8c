"""The rules as a Prometheus alerting-rules file: one source of truth for both.

Each function has its PromQL twin: `value` is the series itself, `age` is
`time() - series`, `rate` is `rate(series[window])`, `ratio` divides the
summed rates, and `quantile` is `histogram_quantile` over the summed bucket
rates. The file is YAML whose strings are written JSON-quoted, which YAML
reads as they are.
"""

from __future__ import annotations

import json

from actors.alerting.rules import Matcher, Rule, format_duration


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def selector(metric: str, matchers: tuple[Matcher, ...]) -> str:
    if not matchers:
        return metric
    parts = [
        f"{m.label}{'=~' if m.regex is not None else '='}{json.dumps(m.value)}" for m in matchers
    ]
    return metric + "{" + ",".join(parts) + "}"


def expression(rule: Rule) -> str:
    """The PromQL that fires exactly when the rule does."""
    window = format_duration(rule.window)
    series = selector(rule.metric, rule.matchers)
    if rule.function == "value":
        left = series
    elif rule.function == "age":
        left = f"time() - {series}"
    elif rule.function == "rate":
        left = f"rate({series}[{window}])"
    elif rule.function == "ratio":
        over = selector(rule.metric_over or "", rule.matchers_over)
        left = f"sum(rate({series}[{window}])) / sum(rate({over}[{window}]))"
    else:
        buckets = selector(rule.metric + "_bucket", rule.matchers)
        left = (
            f"histogram_quantile({_number(rule.q or 0.0)}, sum by (le) (rate({buckets}[{window}])))"
        )
    return f"{left} {rule.op} {_number(rule.threshold)}"


def rules_file(rules: list[Rule], group: str = "rateline") -> str:
    """A Prometheus rules file holding every rule in one group."""
    q = json.dumps
    lines = ["groups:", f"  - name: {q(group)}", "    rules:"]
    for rule in rules:
        lines.append(f"      - alert: {q(rule.name)}")
        lines.append(f"        expr: {q(expression(rule))}")
        if rule.for_:
            lines.append(f"        for: {format_duration(rule.for_)}")
        if rule.keep_firing_for:
            lines.append(f"        keep_firing_for: {format_duration(rule.keep_firing_for)}")
        lines.append("        labels:")
        for name, value in {**rule.labels, "severity": rule.severity}.items():
            lines.append(f"          {name}: {q(value)}")
        lines.append("        annotations:")
        lines.append(f"          summary: {q(rule.summary)}")
        if rule.description:
            lines.append(f"          description: {q(rule.description)}")
    return "\n".join(lines) + "\n"

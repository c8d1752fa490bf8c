"""Prometheus metrics of the agents: what was asked, what the caches saved,
what the models cost."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "rateline_agent_requests_total", "Questions put to an agent, by agent.", ["agent"]
)
CACHE_HITS = Counter(
    "rateline_agent_cache_hits_total",
    "Answers served without a provider call, by agent and cache level "
    "(memory, inflight = shared a concurrent call, database).",
    ["agent", "level"],
)
PROVIDER_CALLS = Counter(
    "rateline_agent_provider_calls_total",
    "Provider calls, by agent, provider and outcome (ok or the failure kind).",
    ["agent", "provider", "outcome"],
)
FALLBACKS = Counter(
    "rateline_agent_fallbacks_total",
    "Answers the built-in advisor gave because a model could not, by agent and reason.",
    ["agent", "reason"],
)
TOKENS = Counter(
    "rateline_agent_tokens_total",
    "Model tokens spent, by agent and direction (in, out).",
    ["agent", "direction"],
)
COST = Counter(
    "rateline_agent_cost_dollars_total", "Estimated model spend in US dollars, by agent.", ["agent"]
)
PROVIDER_LATENCY = Histogram(
    "rateline_agent_provider_duration_seconds",
    "Time a provider took to produce an answer, by agent and provider.",
    ["agent", "provider"],
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40),
)
REQUEST_LATENCY = Histogram(
    "rateline_agent_request_duration_seconds",
    "Time to answer a question, cache included, by agent and cache level.",
    ["agent", "level"],
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40),
)

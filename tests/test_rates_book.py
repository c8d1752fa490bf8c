"""The simulated market and the rate book, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from actors.rates.apr import apr
from actors.rates.book import RateBook
from actors.rates.simulator import BASELINE, MarketSimulator
from protocols.channels import ChannelHead
from protocols.rate_sources.records import PRODUCTS, RateRecord

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def rec(product: str, rate: str, source: str = "simulated", at: datetime = T0) -> RateRecord:
    return RateRecord(product=product, rate=Decimal(rate), as_of=at, source=source)  # type: ignore[arg-type]


def test_the_simulated_market_is_reproducible_and_realistic():
    a, b = MarketSimulator(7), MarketSimulator(7)
    runs_a = [a.tick(T0 + timedelta(seconds=5 * i)) for i in range(3000)]
    runs_b = [b.tick(T0 + timedelta(seconds=5 * i)) for i in range(3000)]
    assert runs_a == runs_b
    assert [r.product for r in runs_a[0]] == list(PRODUCTS)

    last: dict[str, Decimal] = {}
    for tick in runs_a:
        for r in tick:
            assert r.source == "simulated"
            assert r.rate == r.rate.quantize(Decimal("0.001"))
            if r.product == "30y_fixed":
                assert Decimal(6) <= r.rate <= Decimal(7)
            if r.product in last:
                # small moves: a few basis points, never a jump
                assert abs(r.rate - last[r.product]) < Decimal("0.15")
            last[r.product] = r.rate
    # products keep their usual order: 15-year under 30-year, jumbo over it
    assert last["15y_fixed"] < last["30y_fixed"] < last["jumbo_30"]


def test_the_simulator_resumes_from_the_last_published_rates():
    start = {p: BASELINE[p].rate + Decimal("0.300") for p in PRODUCTS}
    first = MarketSimulator(1, start).tick(T0)
    for record in first:
        assert abs(record.rate - start[record.product]) < Decimal("0.1")


def test_apr_includes_points_and_fees():
    assert apr(Decimal("6.375"), Decimal("0.7"), 360) > Decimal("6.375")
    assert apr(Decimal("6.375"), Decimal("0"), 360, fees=Decimal(0)) == Decimal("6.375")
    more_points = apr(Decimal("6.375"), Decimal("2"), 360)
    assert more_points > apr(Decimal("6.375"), Decimal("0.7"), 360)


def test_only_a_change_of_value_is_planned_for_publication():
    book = RateBook(["simulated"], [rec("30y_fixed", "6.250")])
    later = T0 + timedelta(seconds=5)
    plan = book.plan([rec("30y_fixed", "6.250", at=later), rec("15y_fixed", "5.500", at=later)])
    assert plan is not None
    assert [r.product for r in plan.changed] == ["15y_fixed"]
    # the unchanged product still moves to its newer as-of
    assert plan.rates["30y_fixed"].as_of == later
    channels = [channel for channel, _, _ in plan.entries]
    assert channels == ["rates", "rates:15y_fixed"]
    assert book.plan([rec("30y_fixed", "6.250")]) is None


def test_the_first_listed_source_wins_and_others_fill_gaps():
    book = RateBook(["fred", "simulated"])
    plan = book.plan(
        [
            rec("30y_fixed", "6.240", "fred", T0 - timedelta(days=6)),
            rec("30y_fixed", "6.400", "simulated"),
            rec("fha_30", "6.100", "simulated"),
        ]
    )
    assert plan is not None
    assert plan.rates["30y_fixed"].source == "fred"
    assert plan.rates["fha_30"].source == "simulated"
    # an older observation of the same source never replaces a newer one
    book.commit(plan, {channel: ChannelHead("e", 1) for channel, _, _ in plan.entries})
    assert book.plan([rec("30y_fixed", "6.100", "fred", T0 - timedelta(days=13))]) is None


def test_a_commit_swaps_the_snapshot_and_tells_listeners():
    book = RateBook(["simulated"])
    seen = []
    before = book.listen(seen.append)
    plan = book.plan([rec("va_30", "5.900")])
    assert plan is not None
    heads = {"rates": ChannelHead("ep", 4), "rates:va_30": ChannelHead("ep", 2)}
    commit = book.commit(plan, heads)
    assert before.rates == {}
    assert book.snapshot.rates["va_30"].rate == Decimal("5.900")
    assert seen == [commit]
    assert [(u.channel, u.offset) for u in commit.updates] == [("rates", 4), ("rates:va_30", 2)]
    assert book.snapshot.heads["rates"] == ChannelHead("ep", 4)
    assert book.snapshot.records_for("rates:va_30")[0].product == "va_30"
    assert book.snapshot.records_for("rates:fha_30") == []

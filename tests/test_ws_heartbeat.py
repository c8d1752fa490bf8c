"""The heartbeat wheel: connections come due no earlier than asked, once."""

from __future__ import annotations

from server.ws_heartbeat import HeartbeatWheel


class Item:
    def __init__(self, name: str) -> None:
        self.name = name
        self.due_tick = -1

    def __repr__(self) -> str:
        return self.name


def test_items_come_due_at_or_after_their_time_in_order():
    wheel: HeartbeatWheel[Item] = HeartbeatWheel(0.5, now=100.0)
    a, b, c = Item("a"), Item("b"), Item("c")
    wheel.schedule(b, 101.2)
    wheel.schedule(a, 100.4)
    wheel.schedule(c, 125.0)
    assert wheel.due(100.49) == []
    assert wheel.due(100.5) == [a]
    assert wheel.due(101.4) == []
    assert wheel.due(101.5) == [b]
    assert len(wheel) == 1
    assert wheel.due(200.0) == [c]
    assert wheel.due(300.0) == [] and len(wheel) == 0


def test_rescheduling_moves_an_item_and_cancel_forgets_it():
    wheel: HeartbeatWheel[Item] = HeartbeatWheel(1.0, now=0.0)
    a, b = Item("a"), Item("b")
    wheel.schedule(a, 2.0)
    wheel.schedule(a, 30.0)  # answered a ping: due again much later
    wheel.schedule(b, 2.0)
    wheel.cancel(b)
    assert wheel.due(29.0) == []
    assert wheel.due(30.0) == [a]


def test_a_time_already_swept_comes_due_at_the_next_sweep():
    wheel: HeartbeatWheel[Item] = HeartbeatWheel(1.0, now=10.0)
    assert wheel.due(12.0) == []
    late = Item("late")
    wheel.schedule(late, 5.0)
    assert wheel.due(12.5) == []
    assert wheel.due(13.0) == [late]

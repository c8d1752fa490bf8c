"""Heartbeats: the wheel brings connections due no earlier than asked, once,
and clients that connect together are not pinged together."""

from __future__ import annotations

from typing import Any, cast

from server.realtime import wire
from server.realtime.heartbeat import Heartbeat, HeartbeatWheel


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


class Peer:
    """What the heartbeat reads and writes of a connection."""

    def __init__(self) -> None:
        self.closing = False
        self.ping_sent: float | None = None
        self.next_ping = 0.0
        self.due_tick = -1
        self.pinged_at: list[float] = []
        self.clock = 0.0

    def write(self, data: bytes) -> bool:
        assert data == wire.PING
        self.pinged_at.append(self.clock)
        return True


def run(beat: Heartbeat, peers: list[Peer], start: float, until: float) -> list[int]:
    """Sweep as the hub does from `start` to `until`; the pings each sweep sent."""
    per_sweep = []
    now = start
    while now < until:
        now += beat.tick
        for peer in peers:
            peer.clock = now
        before = sum(len(p.pinged_at) for p in peers)
        beat.sweep(now, lambda conn: None)
        per_sweep.append(sum(len(p.pinged_at) for p in peers) - before)
    return per_sweep


def test_clients_that_connect_together_are_pinged_apart_within_the_interval():
    beat = Heartbeat(25.0, 10.0, now=0.0)
    peers = [Peer() for _ in range(2000)]
    for peer in peers:
        beat.joined(cast(Any, peer), 0.0)
    per_sweep = run(beat, peers, 0.0, 25.0 + beat.tick)
    assert all(len(peer.pinged_at) == 1 for peer in peers)
    firsts = [peer.pinged_at[0] for peer in peers]
    assert min(firsts) >= 12.5
    assert max(firsts) <= 25.0 + beat.tick
    # spread over some 13 sweeps, never all at once
    assert max(per_sweep) <= len(peers) / 8


def test_after_a_pong_the_next_ping_is_one_interval_away():
    beat = Heartbeat(25.0, 10.0, now=0.0)
    peer = Peer()
    beat.joined(cast(Any, peer), 0.0)
    run(beat, [peer], 0.0, 25.0 + beat.tick)
    answered = peer.pinged_at[0] + 0.05
    beat.answered(cast(Any, peer), answered)
    run(beat, [peer], answered, 60.0)
    assert len(peer.pinged_at) == 2
    assert answered + 25.0 <= peer.pinged_at[1] < answered + 25.0 + 2 * beat.tick

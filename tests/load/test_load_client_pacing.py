"""The load client's pacing: each simulated user keeps its own schedule, so the users' requests stay spread over the
period after a stall instead of falling into step."""

from __future__ import annotations

from bench.load_client import next_send

PERIOD = 2.0


def test_an_answer_on_time_keeps_the_period() -> None:
    assert next_send(10.0, PERIOD, now=10.3) == 12.0


def test_a_late_answer_sends_at_once_and_then_keeps_the_schedule() -> None:
    due = next_send(10.0, PERIOD, now=12.7)  # the answer to the request due at 10.0 came at 12.7
    assert due == 12.0  # already past: sent at once
    assert next_send(due, PERIOD, now=12.75) == 14.0  # and the next on the old schedule, not 14.75


def test_points_a_whole_period_past_are_skipped_not_caught_up() -> None:
    assert next_send(10.0, PERIOD, now=17.1) == 16.0


def test_users_delayed_by_one_stall_stay_apart() -> None:
    # Five users spread over the period; the hub stalls from 10.0 to 12.5, so each request due meanwhile is answered
    # at 12.5. Afterwards each user is back at its own point of the period, not all at 12.5 + k periods.
    starts = [10.0 + n * PERIOD / 5 for n in range(5)]
    after = [next_send(next_send(start, PERIOD, now=12.5), PERIOD, now=12.55) for start in starts]
    assert sorted(round(t % PERIOD, 6) for t in after) == sorted(round(s % PERIOD, 6) for s in starts)

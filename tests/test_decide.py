"""Decider: k-of-n debounce, one event per anomaly, release, cooldown.

Every expected output below is derived by hand in the comments, not copied
from a run. Scores: ``H`` (2.0) is a hit, ``L`` (0.0) is not, threshold 1.0.
"""

from __future__ import annotations

import pytest

from edge.decide import Decider, DecisionConfig, Event, EventKind
from edge.errors import ConfigError

H, L = 2.0, 0.0
START, END = EventKind.START, EventKind.END


def feed(decider: Decider, scores) -> list[Event]:
    return [e for s in scores if (e := decider.update(s)) is not None]


def test_k_minus_one_hits_never_start():
    # period HHLLL: every span of 5 consecutive windows holds exactly 2 hits < k=3
    decider = Decider(DecisionConfig(1.0, k=3, n=5))
    assert feed(decider, [H, H, L, L, L] * 40) == []
    assert not decider.active


def test_score_equal_to_threshold_is_not_a_hit():
    decider = Decider(DecisionConfig(1.0, k=2, n=2))
    assert feed(decider, [1.0] * 10) == []
    assert feed(decider, [1.0001]) == []  # one hit
    assert [e.kind for e in feed(decider, [1.0001])] == [START]  # second hit in a row


def test_k_hits_within_n_start_once_at_the_kth_hit():
    # hits at 1, 3, 5; at window 5 the span 1..5 holds 3 hits -> START at 5, first_hit 1, score 4
    decider = Decider(DecisionConfig(1.0, k=3, n=5))
    events = feed(decider, [L, 2.0, L, 3.0, L, 4.0])
    assert events == [Event(START, 5, 4.0, 1)]
    assert decider.active


def test_hits_spread_wider_than_n_do_not_start():
    # hits at 0, 2, 5: at window 5 the span 1..5 holds hits 2 and 5 only -> nothing;
    # a hit at 6 makes span 2..6 hold 2, 5, 6 -> START at 6 with first_hit 2
    decider = Decider(DecisionConfig(1.0, k=3, n=5))
    assert feed(decider, [H, L, H, L, L, H]) == []
    events = feed(decider, [3.0])
    assert events == [Event(START, 6, 3.0, 2)]


def test_k_equals_one_starts_on_first_hit():
    decider = Decider(DecisionConfig(1.0, k=1, n=1))
    assert feed(decider, [L, L, 5.0]) == [Event(START, 2, 5.0, 2)]


def test_one_event_while_hits_continue():
    # k=3: START at window 2; 200 more hits and release=10 never reached -> nothing more
    decider = Decider(DecisionConfig(1.0, k=3, n=5))
    events = feed(decider, [H] * 200)
    assert events == [Event(START, 2, H, 0)]
    assert decider.active


def test_short_dips_keep_one_event():
    # default release = 2n = 10: after the start, 9 quiet windows then a hit, repeated,
    # never gives 10 quiet windows in a row -> still a single START, no END
    decider = Decider(DecisionConfig(1.0, k=3, n=5))
    assert decider.config.release_windows == 10
    events = feed(decider, [H, H, H] + ([L] * 9 + [H]) * 10)
    assert [e.kind for e in events] == [START]
    assert decider.active


def test_end_after_release_quiet_windows_with_peak():
    # k=3, n=5, release=5. START at 2 (score 2.0). Peak rises to 7.0 at window 4.
    # quiet windows 5,6,7,8,9 -> the 5th quiet one (window 9) ends the event with peak 7.0
    decider = Decider(DecisionConfig(1.0, k=3, n=5, release=5))
    events = feed(decider, [H, H, H, 3.0, 7.0, L, L, L, L])
    assert events == [Event(START, 2, H, 0)]  # 4 quiet windows: not yet
    events = feed(decider, [L])
    assert events == [Event(END, 9, 7.0, 0)]
    assert not decider.active
    assert feed(decider, [L] * 20) == []


def test_default_release_is_two_n():
    # n=3 -> release 6: START at 2, quiet windows 3..8, END at 8 (the 6th), not at 5 (the 3rd)
    decider = Decider(DecisionConfig(1.0, k=3, n=3))
    events = feed(decider, [H, H, H] + [L] * 6)
    assert events == [Event(START, 2, H, 0), Event(END, 8, H, 0)]


def test_quiet_run_resets_on_a_hit():
    # release=3: START at 1 (k=2). Quiet 2,3; hit at 4 resets; quiet 5,6,7 -> END at 7
    decider = Decider(DecisionConfig(1.0, k=2, n=2, release=3))
    events = feed(decider, [H, H, L, L, 4.0, L, L, L])
    assert events == [Event(START, 1, H, 0), Event(END, 7, 4.0, 0)]


def test_second_event_after_end_without_cooldown():
    # k=2, n=2, release=2, cooldown 0: START 1, END 3; hits at 4,5 -> START 5 with first_hit 4
    decider = Decider(DecisionConfig(1.0, k=2, n=2, release=2))
    events = feed(decider, [H, H, L, L, H, 3.0])
    assert events == [Event(START, 1, H, 0), Event(END, 3, H, 0), Event(START, 5, 3.0, 4)]
    assert decider.suppressed == 0


def test_hits_of_an_ended_event_do_not_count_towards_the_next_start():
    # k=2, n=3, release=1: START 1 (hits 0,1), window 2 quiet -> END 2.
    # At window 3 (hit) the span 1..3 would hold hits 1 and 3, but hit 1 belonged to the
    # ended event -> no START; a hit at 4 makes the START, at 4 with first_hit 3.
    decider = Decider(DecisionConfig(1.0, k=2, n=3, release=1))
    events = feed(decider, [H, H, L, H])
    assert events == [Event(START, 1, H, 0), Event(END, 2, H, 0)]
    assert feed(decider, [H]) == [Event(START, 4, H, 3)]


def test_cooldown_suppresses_and_counts():
    # k=2, n=3, release=2, cooldown=4: START 1, END 3; windows 4..7 are the cooldown.
    # hits at 4,5 would start at 5 -> suppressed (1). Quiet 6,7. Hits 8,9 -> START 9, first_hit 8.
    decider = Decider(DecisionConfig(1.0, k=2, n=3, cooldown=4, release=2))
    events = feed(decider, [H, H, L, L, H, H, L, L])
    assert events == [Event(START, 1, H, 0), Event(END, 3, H, 0)]
    assert decider.suppressed == 1
    assert not decider.active
    events = feed(decider, [H, 5.0])
    assert events == [Event(START, 9, 5.0, 8)]
    assert decider.suppressed == 1


def test_same_sequence_without_cooldown_starts_where_it_was_suppressed():
    # the control for the test above: with cooldown 0 the hits at 4,5 START at 5
    decider = Decider(DecisionConfig(1.0, k=2, n=3, cooldown=0, release=2))
    events = feed(decider, [H, H, L, L, H, H])
    assert events[-1] == Event(START, 5, H, 4)
    assert decider.suppressed == 0


def test_cooldown_boundary():
    # END at 3 with cooldown=4 -> the last suppressed window is 7, a start at 8 is allowed.
    base = [H, H, L, L]  # START 1, END 3
    at_7 = Decider(DecisionConfig(1.0, k=2, n=3, cooldown=4, release=2))
    assert [e.kind for e in feed(at_7, base + [L, L, H, H])] == [START, END]  # would start at 7
    assert at_7.suppressed == 1
    at_8 = Decider(DecisionConfig(1.0, k=2, n=3, cooldown=4, release=2))
    events = feed(at_8, base + [L, L, L, H, H])  # hits 7, 8 -> START at 8
    assert events[-1] == Event(START, 8, H, 7)
    assert at_8.suppressed == 0


def test_finish_closes_an_open_event():
    # START at 2 (k=3), peak 6.0 at window 3, stream ends after window 4 -> END at 4, peak 6.0
    decider = Decider(DecisionConfig(1.0, k=3, n=5))
    feed(decider, [H, H, H, 6.0, L])
    assert decider.active
    assert decider.finish() == Event(END, 4, 6.0, 0)
    assert not decider.active
    assert decider.finish() is None


def test_finish_without_open_event_is_none():
    decider = Decider(DecisionConfig(1.0, k=3, n=5))
    feed(decider, [L, H, L])
    assert decider.finish() is None


@pytest.mark.parametrize(
    "kwargs",
    [dict(k=0, n=5), dict(k=6, n=5), dict(k=1, n=0), dict(k=-1, n=3), dict(cooldown=-1), dict(release=0),
     dict(end_ratio=1.0), dict(end_ratio=0.5)],
)
def test_invalid_config_raises_config_error(kwargs):
    with pytest.raises(ConfigError):
        DecisionConfig(1.0, **kwargs)


def test_k_equal_n_is_valid():
    decider = Decider(DecisionConfig(1.0, k=4, n=4))
    # 3 hits, a miss, 3 hits: no span of 4 is all hits; a 4th consecutive hit starts at 7
    assert feed(decider, [H, H, H, L, H, H, H]) == []
    assert feed(decider, [H]) == [Event(START, 7, H, 4)]


def test_peak_includes_hits_before_the_start():
    # k=3: hits 9.0 (window 0), 2.0, 2.0 -> START at 2 with first_hit 0; the event spans 0..;
    # its peak is 9.0. release=2: quiet 3, 4 -> END at 4, peak 9.0
    decider = Decider(DecisionConfig(1.0, k=3, n=5, release=2))
    events = feed(decider, [9.0, H, H, L, L])
    assert events[-1] == Event(END, 4, 9.0, 0)


# -- classifier labels ------------------------------------------------------------------------------


def feed_labelled(decider: Decider, windows) -> list[Event]:
    """``windows``: (score, label) pairs."""
    return [e for s, lab in windows if (e := decider.update(s, lab)) is not None]


def test_an_event_takes_the_label_most_of_its_starting_hits_carry():
    # k=3 of n=5: hits at 0 (stop), 1 (start), 2 (start) -> START at 2, label start (2 of 3 hits)
    decider = Decider(DecisionConfig(0.8, k=3, n=5))
    events = feed_labelled(decider, [(0.9, "stop"), (0.95, "start"), (0.9, "start")])
    assert events == [Event(START, 2, 0.95, 0, "start")]
    assert decider.label == "start"


def test_a_new_label_ends_the_event_and_starts_another_in_the_same_window():
    # alarm hits at 0-2 -> START(alarm) at 2; stop hits at 3, 4, 5: at 5 the span 1..5 holds
    # alarm x2 (1, 2) and stop x3 -> stop has k=3 and more than alarm: END(alarm) + START(stop) at 5,
    # the new event's first hit is 3; its peak is its own hits' (0.97), the old one's 0.99
    decider = Decider(DecisionConfig(0.8, k=3, n=5, release=2))
    windows = [(0.9, "alarm"), (0.99, "alarm"), (0.9, "alarm"), (0.9, "stop"), (0.97, "stop"), (0.9, "stop")]
    events = feed_labelled(decider, windows)
    ended = Event(END, 5, 0.99, 0, "alarm")
    assert events == [Event(START, 2, 0.99, 0, "alarm"), Event(START, 5, 0.97, 3, "stop", ended)]
    # two quiet windows end the stop event
    assert feed_labelled(decider, [(0.1, "stop"), (0.2, "alarm")]) == [Event(END, 7, 0.97, 3, "stop")]


def test_a_label_flickering_for_fewer_than_k_windows_changes_nothing():
    # start event from window 2; stop hits at 3 and 5 (2 < k=3), then start again: one event throughout
    decider = Decider(DecisionConfig(0.8, k=3, n=5))
    windows = [(0.9, "start")] * 3 + [(0.9, "stop"), (0.9, "start"), (0.9, "stop")] + [(0.9, "start")] * 5
    assert [(e.kind, e.label) for e in feed_labelled(decider, windows)] == [(START, "start")]


def test_windows_below_the_threshold_never_change_the_label():
    # stop at 0.5 < 0.8 are misses, whatever their label: the start event just runs on, then releases
    decider = Decider(DecisionConfig(0.8, k=2, n=3, release=4))
    events = feed_labelled(decider, [(0.9, "start"), (0.9, "start")] + [(0.5, "stop")] * 4)
    assert [(e.kind, e.window, e.label) for e in events] == [(START, 1, "start"), (END, 5, "start")]


def test_alerts_carry_the_label_and_a_change_gives_end_then_start():
    import json

    import numpy as np

    from edge.events import AlertContext, EventTracker
    from edge.window import Window

    decider = Decider(DecisionConfig(0.8, k=2, n=3, release=2))
    tracker = EventTracker(AlertContext("dev", "kws", "fp32", "mic"), hop=5, span=3)
    labels = ["alarm", "alarm", "stop", "stop", "stop", None, None]
    scores = [0.9, 0.9, 0.95, 0.95, 0.95, 0.1, 0.1]
    alerts = []
    for i, (score, label) in enumerate(zip(scores, labels)):
        window = Window(i * 5, np.zeros((10, 1), np.float32), np.full(10, np.nan))
        alerts += tracker.on_window(window, score, decider.update(score, label), 0.8)
    assert [(a.type, a.label) for a in alerts] == [("start", "alarm"), ("end", "alarm"), ("start", "stop"),
                                                   ("end", "stop")]
    assert alerts[0].event_id == alerts[1].event_id != alerts[2].event_id == alerts[3].event_id
    assert json.loads(alerts[0].to_json())["label"] == "alarm"
    unlabelled = Decider(DecisionConfig(1.0, k=1, n=1))
    plain = EventTracker(AlertContext("dev", "ae", "int8", "file:x.csv"), hop=1, span=1)
    window = Window(0, np.zeros((4, 1), np.float32), np.full(4, np.nan))
    [alert] = plain.on_window(window, 2.0, unlabelled.update(2.0), 1.0)
    assert alert.label is None and "label" not in json.loads(alert.to_json())


# -- end ratio: an event ends when its disturbance has passed, its after-effect does not re-alarm --


def test_end_ratio_ends_an_event_whose_score_stays_above_threshold():
    # k=1, n=1, release=2, ratio 10: START at 0 (peak 50). Window 1 (50) is a hit.
    # Windows 2, 3 score 3: above the threshold but 3 * 10 = 30 < 50 -> quiet, quiet -> END at 3, peak 50.
    decider = Decider(DecisionConfig(1.0, k=1, n=1, release=2, end_ratio=10.0))
    events = feed(decider, [50.0, 50.0, 3.0, 3.0])
    assert events == [Event(START, 0, 50.0, 0), Event(END, 3, 50.0, 0)]
    assert not decider.active


def test_after_an_end_on_the_ratio_the_next_event_waits_for_a_normal_window():
    # continuing the sequence above: 3.0 stays above the threshold -> no new START however long it lasts;
    # 0.5 re-arms (no event); the next hit (k=1) at window 4 + 30 + 1 = 35 starts a new event
    decider = Decider(DecisionConfig(1.0, k=1, n=1, release=2, end_ratio=10.0))
    feed(decider, [50.0, 50.0, 3.0, 3.0])
    assert feed(decider, [3.0] * 30) == []
    assert feed(decider, [0.5]) == []
    assert feed(decider, [3.0]) == [Event(START, 35, 3.0, 35)]


def test_without_end_ratio_the_same_scores_stay_one_open_event():
    # the control: no ratio -> 3.0 is a hit, the event never ends
    decider = Decider(DecisionConfig(1.0, k=1, n=1, release=2))
    assert feed(decider, [50.0, 50.0] + [3.0] * 30) == [Event(START, 0, 50.0, 0)]
    assert decider.active


def test_end_ratio_is_strict_and_follows_the_rising_peak():
    # k=1, n=1, release=1, ratio 10. START at 0 with peak 20; 2.0 * 10 = 20 is not < 20 -> not quiet.
    # The peak rises to 40 at window 2; then 3.0 * 10 = 30 < 40 -> quiet -> END at 3 (release 1), peak 40.
    decider = Decider(DecisionConfig(1.0, k=1, n=1, release=1, end_ratio=10.0))
    assert feed(decider, [20.0, 2.0, 40.0]) == [Event(START, 0, 20.0, 0)]
    assert feed(decider, [3.0]) == [Event(END, 3, 40.0, 0)]


def test_an_event_that_ends_below_threshold_needs_no_re_arm():
    # k=2, n=2, release=2, ratio 10: START 1 (peak 50), windows 2, 3 below threshold -> END at 3;
    # the last score was normal, so hits at 4, 5 start again at 5 (as without a ratio)
    decider = Decider(DecisionConfig(1.0, k=2, n=2, release=2, end_ratio=10.0))
    events = feed(decider, [50.0, 50.0, L, L, H, H])
    assert events == [Event(START, 1, 50.0, 0), Event(END, 3, 50.0, 0), Event(START, 5, H, 4)]

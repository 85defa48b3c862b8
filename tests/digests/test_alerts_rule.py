"""The spike rule on its own: low counts, over-dispersed days, one past storm, too little history."""

from __future__ import annotations

import statistics

from scipy import stats

from responders.digests.alerts import MIN_HISTORY_DAYS, SpikeRule, evaluate

RULE = SpikeRule()


def huginn_fires(observed: int, history: list[int]) -> bool:
    """Huginn's PeakDetector: a value above the mean plus three standard deviations of the recent ones."""
    return observed > statistics.fmean(history) + 3 * statistics.pstdev(history)


def test_a_few_mentions_against_a_quiet_baseline_are_not_a_storm() -> None:
    quiet = [0] * 12 + [1, 0]
    assert huginn_fires(2, quiet), "mean + 3 sd fires on two mentions"
    assert not evaluate("brand", 2, quiet, RULE).fired
    significant = evaluate("brand", 6, quiet, RULE)
    assert significant.p_value < RULE.p_value and not significant.fired
    assert significant.reason.startswith("below the minimum volume")
    loud = evaluate("brand", 12, quiet, RULE)
    assert loud.fired and loud.test == "poisson" and loud.expected == 0.5  # the floor, not zero


def test_a_steady_baseline_takes_a_real_rise() -> None:
    steady = [3, 4, 2, 3, 5, 3, 2, 4, 3, 3, 2, 4, 3, 3]
    ordinary = evaluate("brand", 7, steady, RULE)
    assert not ordinary.fired and "not significant" in ordinary.reason
    storm = evaluate("brand", 25, steady, RULE)
    assert storm.fired and storm.p_value < 1e-6 and storm.ratio > 7


def test_days_that_vary_more_than_poisson_widen_the_test() -> None:
    swings = [2, 20, 4, 16, 1, 18, 3, 25, 2, 14, 6, 19, 3, 17]
    verdict = evaluate("brand", 40, swings, RULE)
    assert verdict.test == "negative binomial"
    assert stats.poisson.sf(39, verdict.expected) < RULE.p_value, "Poisson alone would call it a storm"
    assert not verdict.fired and verdict.p_value > RULE.p_value


def test_significant_but_small_rise_on_a_large_volume_is_not_a_storm() -> None:
    busy = [400, 410, 395, 405, 398, 402, 407, 399, 401, 396, 404, 403, 397, 400]
    verdict = evaluate("brand", 520, busy, RULE)
    assert verdict.p_value < RULE.p_value and not verdict.fired and "3x" in verdict.reason


def test_one_past_storm_does_not_hide_the_next() -> None:
    history = [3] * 13 + [90]
    verdict = evaluate("brand", 30, history, RULE)
    assert verdict.mean == 3 and verdict.fired


def test_too_little_history_raises_nothing() -> None:
    verdict = evaluate("brand", 50, [1] * (MIN_HISTORY_DAYS - 1), RULE)
    assert not verdict.fired and "not enough history" in verdict.reason

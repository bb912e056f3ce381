"""Alert counting and threshold calibration to an alert budget."""

from __future__ import annotations

import numpy as np
import pytest

from models.features import DAY
from models.training.calibrate import AlertModel, calibrate_threshold
from models.training.data import FALSE, TRUE, Labels

MIN = 60_000


def test_hits_within_the_gap_are_one_alert():
    users = ["a", "a", "a", "b", "a"]
    times = np.array([0, 10 * MIN, 100 * MIN, 5 * MIN, 115 * MIN])
    am = AlertModel(users, times, gap_ms=30 * MIN)
    scores = np.array([0.95, 0.95, 0.95, 0.95, 0.1])
    number = am.alerts(scores, 0.9)
    assert number[0] == number[1] != number[2] and number[3] not in (number[0], number[2])
    assert number[4] == -1 and am.count(scores, 0.9) == 3 and am.count(scores, 0.99) == 0


def test_calibrated_threshold_is_the_lowest_within_budget():
    rng = np.random.default_rng(3)
    n = 20_000
    users = [f"u{i}" for i in rng.integers(0, 200, n)]
    times = np.sort(rng.integers(0, 10 * DAY, n))
    scores = rng.beta(1, 12, n)
    ids = [f"e{i}" for i in range(n)]
    top = int(np.argmax(scores))
    labels = Labels(alerts=[{"alert_id": "x", "detector": "batch_model", "status": TRUE, "event_ids": [ids[top]]},
                            {"alert_id": "y", "detector": "batch_model", "status": FALSE, "event_ids": [ids[0]]}])
    res = calibrate_threshold(scores, users, times, 5.0, event_ids=ids, labels=labels, floor=0.2)
    am = AlertModel(users, times)
    assert res["alerts_per_1000_user_days"] <= 5.0 and res["user_days"] == am.user_days
    assert am.count(scores, res["threshold"]) == res["alerts"]
    assert am.per_1000(am.count(scores, np.quantile(scores, 0.9))) > 5.0  # a lower one overshoots
    assert res["labelled_true_kept"] == 1 == res["labelled_true_alerts"]
    looser = calibrate_threshold(scores, users, times, 50.0, floor=0.2)
    assert looser["threshold"] < res["threshold"] and looser["alerts"] > res["alerts"]
    with pytest.raises(ValueError):
        calibrate_threshold(scores, users, times, 0.0)

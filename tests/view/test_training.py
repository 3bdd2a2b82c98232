"""Advantages as the trainer computes them, with the reason an episode has none."""

from __future__ import annotations

import pytest

from hone.trajectory import Episode
from hone.view import episode_advantages

torch = pytest.importorskip("torch")


def episodes() -> list[Episode]:
    made = [
        Episode(task_id="a", group_id="g1", reward=1.0),
        Episode(task_id="a", group_id="g1", reward=0.0),
        Episode(task_id="a", group_id="g1", reward=None),
        Episode(task_id="b", group_id="g2", reward=0.5),
        Episode(task_id="b", group_id="g2", reward=0.5),
    ]
    return made


def test_advantages_match_group_advantages_and_explain_the_missing_ones() -> None:
    from hone.train import group_advantages

    made = episodes()
    found = episode_advantages(made)
    expected = group_advantages(torch.tensor([1.0, 0.0], dtype=torch.float64), [0, 0]).tolist()
    assert found[made[0].id].value == pytest.approx(expected[0])
    assert found[made[1].id].value == pytest.approx(expected[1])
    assert found[made[2].id].value is None and "no reward" in found[made[2].id].note
    assert found[made[3].id].value == 0.0 and "no signal" in found[made[3].id].note


def test_roles_of_one_group_are_separate_baselines() -> None:
    made = [
        Episode(task_id="a", group_id="g", role="solver", reward=1.0),
        Episode(task_id="a", group_id="g", role="solver", reward=0.0),
        Episode(task_id="a", group_id="g", role="judge", reward=1.0),
        Episode(task_id="a", group_id="g", role="judge", reward=1.0),
    ]
    found = episode_advantages(made)
    assert found[made[0].id].value is not None and found[made[0].id].value > 0
    assert found[made[2].id].value == 0.0  # the judges agree: no signal

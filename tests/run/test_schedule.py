"""The fair scheduler: an action instance that stays enabled is fired within as many picks as
there are instances, whatever the seed and whatever else comes and goes."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from kcheck.run.schedule import FairScheduler, Instance

INSTANCES: list[Instance] = [(a, (i,)) for a in range(3) for i in range(3)]


@given(
    seed=st.integers(0, 2**32),
    others=st.lists(st.sets(st.sampled_from(INSTANCES[1:])), min_size=1, max_size=40),
)
def test_a_continuously_enabled_instance_is_never_starved(
    seed: int, others: list[set[Instance]]
) -> None:
    sched = FairScheduler(random.Random(seed))
    steady = INSTANCES[0]
    waited = 0
    for extra in others:
        enabled = sorted({steady} | extra)
        if sched.pick(enabled) == steady:
            waited = 0
        else:
            waited += 1
        assert waited < len(INSTANCES)


def test_the_same_seed_picks_the_same_way() -> None:
    a = FairScheduler(random.Random(5))
    b = FairScheduler(random.Random(5))
    picks_a = [a.pick(INSTANCES) for _ in range(20)]
    picks_b = [b.pick(INSTANCES) for _ in range(20)]
    assert picks_a == picks_b
    assert sorted(picks_a[:9]) == sorted(INSTANCES)  # a round: everyone once, in seeded order

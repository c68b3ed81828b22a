"""Which enabled action instance fires next: fair and reproducible. Among the enabled
instances, the one that has waited longest since it was last fired goes first (so an action
that stays enabled cannot be starved: weak fairness without relying on luck); ties are broken
by the seeded random generator, so the same seed gives the same run."""

from __future__ import annotations

import random
from collections.abc import Sequence

Instance = tuple[int, tuple[int, ...]]  # (action id, args)


class FairScheduler:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.turn = 0
        # when each action instance was last fired (or first seen enabled)
        self.last: dict[Instance, float] = {}

    def pick(self, enabled: Sequence[Instance]) -> Instance:
        """The instance to fire among `enabled` (not empty)."""
        self.turn += 1
        for inst in enabled:
            self.last.setdefault(inst, self.turn)
        oldest = min(self.last[i] for i in enabled)
        tied = sorted(i for i in enabled if self.last[i] == oldest)
        chosen = tied[self.rng.randrange(len(tied))]
        # behind everything that was already waiting this turn, ahead of what comes later
        self.last[chosen] = self.turn + 0.5
        # an instance that is no longer enabled starts waiting afresh when it is again
        live = set(enabled)
        for inst in [i for i in self.last if i not in live]:
            del self.last[inst]
        return chosen

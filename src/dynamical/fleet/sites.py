"""Demonstrations for a simulated fleet: each robot records its own site with the real recorder.

A site is a seed range: every episode is a fresh lock-step world drawn from its seed (its own
object layout), recorded by ``learning.recorder`` as a LeRobot v3 dataset (the learning
environment's writer), then read back with ``demonstrations.load_dataset``. The platform's seed
data (for the frozen base) and every site's held-out episodes are recorded the same way.
Recordings are kept under ``workdir`` and reused when present.
"""

from __future__ import annotations

from pathlib import Path

from dynamical.fleet.demonstrations import Demonstrations, load_dataset

SKILL = "look_at"
"""The head turns to the cup: a short built-in episode whose action depends on the layout."""
FPS = 15
SITE_SEED_STRIDE = 10_000


def _recorded(out: Path, episodes: int, seed: int) -> Demonstrations:
    if not (out / "meta" / "info.json").exists():
        from dynamical.learning.recorder import RecordConfig, record

        record(RecordConfig(skill=SKILL, episodes=episodes, seed=seed, out=out, fps=FPS, images=False))
    return load_dataset(out)


def fleet_sites(
    workdir: Path, robots: int, episodes: int, holdout_episodes: int = 2
) -> tuple[Demonstrations, list[Demonstrations], Demonstrations]:
    """(platform seed data, one training set per robot, every site's held-out episodes together)."""
    base = _recorded(workdir / "platform", episodes, seed=SITE_SEED_STRIDE * 99)
    sites, holdouts = [], []
    for i in range(robots):
        seed = SITE_SEED_STRIDE * (i + 1)
        sites.append(_recorded(workdir / f"site-{i}", episodes, seed))
        holdouts.append(_recorded(workdir / f"site-{i}-holdout", holdout_episodes, seed + SITE_SEED_STRIDE // 2))
    return base, sites, Demonstrations.concat(holdouts)

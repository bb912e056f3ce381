"""Small simulations shared by the simulate tests (built once per session)."""

from __future__ import annotations

import pytest

from streamer.simulate.generate import simulate_to_dir


@pytest.fixture(scope="session")
def small_sim(tmp_path_factory):
    """40 users, 4 days, one incident of every type, written to a folder."""
    out = tmp_path_factory.mktemp("sim")
    counts = simulate_to_dir(out, seed=11, users=40, days=4, incidents_per_type=1)
    return out, counts

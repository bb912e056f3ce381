"""The storage modules' docstring examples run."""

from __future__ import annotations

import doctest

import pytest

from streamer.store import migrations, ops


@pytest.mark.parametrize("module", [migrations, ops])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted and not result.failed

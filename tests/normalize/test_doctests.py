"""The docstring examples of the normalize package run."""

from __future__ import annotations

import doctest

import streamer.normalize


def test_doctests():
    failed, attempted = doctest.testmod(streamer.normalize)
    assert attempted > 0 and failed == 0

"""Fixtures of the process-stage tests."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture
def dask_leftovers_collected() -> Iterator[None]:
    """After a test that ran Dask in this process, collect what Dask left unclosed.

    Dask's client and local cluster can leave a socket for the garbage collector after
    they closed (their comms' pools), and the suite turns every warning into an error:
    collected later, inside another test, that socket's ResourceWarning would fail that
    test. Collected here, right after the Dask test, with only that warning ignored.
    """
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()

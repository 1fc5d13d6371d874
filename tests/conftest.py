"""Shared fixtures: a served synthetic site and a one-call way to run the engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawler.demo import SiteServer, SyntheticSite

DEMO_PAGES = 120


@pytest.fixture(scope="session")
def demo_site() -> SyntheticSite:
    return SyntheticSite(pages=DEMO_PAGES)


@pytest.fixture(scope="session")
def demo_server(demo_site: SyntheticSite) -> Iterator[SiteServer]:
    with SiteServer(demo_site) as server:
        yield server

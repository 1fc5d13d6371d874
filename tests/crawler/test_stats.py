"""Tests for crawler.stats: the numbers a user reads at the end of a crawl add up."""

from __future__ import annotations

from collections import Counter

from crawler.stats import RATE_CHANGES_KEPT, Stats


def finished_stats(**counts: object) -> Stats:
    stats = Stats(started=0.0, finished=10.0)
    for name, value in counts.items():
        setattr(stats, name, value)
    return stats


def test_the_summary_names_records_errors_and_rates() -> None:
    stats = finished_stats(
        fetched=20, responses=19, written=20, written_ok=18, parsed=18,
        bytes=3 * 1024 * 1024, errors=Counter({"timeout": 1, "http_404": 1}),
    )  # fmt: skip
    first, fetch, parse, errors = stats.summary_lines()
    assert first == "done in 10.0 s: 20 records written (18 ok, 2 errors)"
    assert fetch == "fetch: 19 responses, 1 failed without one, 3.0 MiB, 2.0 pages/s"
    assert parse == "parse: 18 pages, 1.8 pages/s"
    assert errors == "errors: timeout 1, http_404 1"


def test_one_of_a_kind_is_singular() -> None:
    stats = finished_stats(fetched=1, responses=1, written=1, written_ok=0, retries=1)
    stats.errors["dns"] = 1
    lines = stats.summary_lines()
    assert lines[0] == "done in 10.0 s: 1 record written (0 ok, 1 error)"
    assert lines[1].endswith(", 1 retry")


def test_pages_a_stop_kept_from_the_output_are_counted_as_not_written() -> None:
    stats = finished_stats(fetched=10, unfetched=2, written=7, dropped=1, interrupted=True)
    assert stats.unwritten == 4  # fetched + unfetched == written + dropped + unwritten
    first = stats.summary_lines()[0]
    assert first.startswith("interrupted in 10.0 s: 7 records written")
    assert "1 page dropped by steps" in first
    assert "4 fetched pages not written (stopped)" in first


def test_skips_limits_and_seeds_get_their_own_lines() -> None:
    stats = finished_stats(
        skipped=Counter({"robots": 3, "offsite": 5}), stop_reason="max_pages",
        invalid_seeds=2, duplicate_seeds=1, discovered=40, seen=55, sitemap_urls=4,
    )  # fmt: skip
    lines = stats.summary_lines()
    assert "skipped: offsite 5, robots 3" in lines
    assert "stopped early: max pages reached" in lines
    assert "seeds skipped: 2 invalid, 1 duplicate" in lines
    assert "links: 40 queued, 55 distinct URLs seen, 4 from sitemaps" in lines


def test_fetchers_stats_combine_into_one_summary() -> None:
    one = Stats(started=0.0, finished=8.0, fetched=10, responses=10, written=10, written_ok=9,
                parsed=10, seen=30, duplicate_seeds=1, errors=Counter({"http_4xx": 1}))  # fmt: skip
    two = Stats(started=1.0, finished=10.0, fetched=20, responses=20, written=20, written_ok=20,
                parsed=20, seen=31, duplicate_seeds=1, skipped=Counter({"offsite": 4}))  # fmt: skip
    lines = Stats.combined([one, two]).summary_lines()
    assert lines[0] == "done in 10.0 s: 30 records written (29 ok, 1 error)"
    assert "parse: 30 pages, 3.0 pages/s" in lines
    assert "skipped: offsite 4" in lines
    # A seed the other fetcher queued first is no duplicate of the crawl's.
    assert not any(line.startswith("seeds") for line in lines)


def test_a_resumed_crawl_counts_earlier_runs_and_no_duplicate_seeds() -> None:
    lines = finished_stats(done_before=600, duplicate_seeds=1).summary_lines()
    assert "resumed: 600 URLs done in earlier runs, not fetched again" in lines
    assert "seeds skipped: 1 seen before (an earlier run's, or repeated)" in lines


def test_renders_get_their_lines_per_host_and_combine_across_fetchers() -> None:
    one = Stats(rendered=Counter({"https://app.test:443": 4}), render_requests=10)
    one.render_failures["render_timeout"] = 1
    two = Stats(rendered=Counter({"https://app.test:443": 2, "https://b.test:443": 1}))
    two.render_blocked.update({"origin": 2, "type": 3})
    two.browser_restarts = 1
    lines = Stats.combined([one, two]).summary_lines()
    assert (
        "render: 7 pages rendered (https://app.test:443 6, https://b.test:443 1), "
        "1 failed (render_timeout 1), browser restarted 1 time"
    ) in lines
    assert "render requests: 10 served, 5 blocked (type 3, origin 2)" in lines
    assert not any(line.startswith("render") for line in Stats().summary_lines())


def test_the_summary_says_which_hosts_the_autothrottle_slowed_and_where_they_are_now() -> None:
    stats = Stats()
    stats.rate_changed("http://a.test", 2, 0.0, slowed=0)  # slow start: no line for it
    assert not [line for line in stats.summary_lines() if line.startswith("autothrottle")]
    stats.rate_changed("http://a.test", 1, 0.0, slowed=1)
    stats.rate_changed("http://a.test", 1, 0.8, slowed=2)
    stats.rate_changed("http://a.test", 4, 0.0, slowed=2)
    lines = [line for line in stats.summary_lines() if line.startswith("autothrottle")]
    assert lines == [
        "autothrottle: http://a.test slowed 2 times, to 1 at once and 0.8 s apart; now 4 at once"
    ]


def test_rate_changes_are_kept_bounded_per_host() -> None:
    stats = Stats()
    for n in range(RATE_CHANGES_KEPT + 50):
        stats.rate_changed("http://a.test", 1 + n % 2, 0.0, slowed=n)
    changes = stats.rate_changes["http://a.test"]
    assert len(changes) == RATE_CHANGES_KEPT
    assert changes[-1][1] == 1 + (RATE_CHANGES_KEPT + 49) % 2  # the latest is kept

"""Tests for crawler.frontier.redis's status: what ``parcrawl status`` says of a shared crawl's
processes, those at work, those silent, and those that ended."""

from __future__ import annotations

from crawler.frontier.redis import SharedStatus


def status(**heartbeats_s: float) -> SharedStatus:
    processes = {
        "left-1": {"done": 40, "failed": 2},
        "left-2": {"done": 10},
        "busy": {"leased": 3, "done": 7},
        "killed": {"leased": 1, "done": 5},
        "long-dead": {"done": 100, "failed": 1},
    }
    return SharedStatus("c", "redis://127.0.0.1:6379/0", 0, {}, processes=processes,
                        heartbeats_s=heartbeats_s)  # fmt: skip


def test_processes_that_left_are_summed_up_in_one_line_not_listed_forever() -> None:
    lines = status(busy=2.0, killed=95.0, **{"long-dead": 7200.0}).lines()
    assert lines[-4:] == [
        "per process:",
        "  busy  leased 3  done 7  failed 0  last heard 2 s ago",
        "  killed  leased 1  done 5  failed 0  silent for 95 s (stopped without leaving?)",
        "ended: 3 processes (2 left the crawl, 1 silent for over an hour), done 150, failed 3",
    ]
    assert not any("gone" in line for line in lines)


def test_a_crawl_whose_processes_all_left_lists_none() -> None:
    lines = SharedStatus("c", "redis://h/0", 3, {"done": 3}, processes={"a": {"done": 3}}).lines()
    assert lines[-1] == "ended: 1 process (left the crawl), done 3, failed 0"
    assert "per process:" not in lines

"""What a person at a terminal sees while parcrawl crawls: live progress (also of several
fetchers), bars never drawn through records, and summaries saying what happened and where
the records went."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from tests.support.cli import parcrawl
from tests.support.redis_server import RedisServer, redis_server
from tests.support.routes import RouteServer, page
from tests.support.terminal import run_on_terminal

__all__ = ["redis_server"]  # the fixture, imported for this module's tests


def linked_site(pages: int, delay_s: float = 0.0) -> RouteServer:
    """``/`` and ``/p0``…: each page links to the next three, so a crawl fans out."""
    paths = ["/", *(f"/p{n}" for n in range(pages))]
    routes = {}
    for index, path in enumerate(paths):
        links = "".join(f'<a href="{target}">x</a>' for target in paths[index + 1 : index + 4])
        routes[path] = page(f"<title>{index}</title>{links}", delay_s=delay_s)
    return RouteServer(routes)


def urls_in(*files: Path) -> list[str]:
    return sorted(
        json.loads(line)["url"] for file in files for line in file.read_text().splitlines()
    )


def test_fetchers_show_live_progress_then_one_summary_and_the_merge_command(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    out = tmp_path / "site.jsonl"
    with linked_site(40, delay_s=0.05) as server:
        screen = run_on_terminal(
            "crawl", server.url("/"), "--follow", "--frontier", redis_server.url,
            "--crawl-id", "live", "--fetchers", "2", "-w", "0", "-c", "2", "-o", str(out),
        )  # fmt: skip
        every_url = sorted(server.url(path) for path in ["/", *(f"/p{n}" for n in range(40))])
    assert screen.code == 0, screen.text
    fetched = screen.frames("fetched")
    assert any(re.search(r"queued \d+, per fetcher \d+ \| \d+", bar) for bar in fetched), fetched
    assert screen.frames("written")
    assert re.search(
        r"parcrawl: done in [\d.]+ s: 41 records written \(41 ok, 0 errors\)", screen.text
    )
    # The command it prints merges the fetchers' files into one record per URL.
    command = re.search(r"parcrawl: .*: (parcrawl merge .*?)\r?\n", screen.text)
    assert command is not None, screen.text
    merge = parcrawl(*shlex.split(command.group(1))[1:])
    assert merge.returncode == 0, merge.stderr
    assert urls_in(out) == every_url


def test_ctrl_c_stops_every_fetcher_said_once_and_summed_up(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    def working(screen: str) -> bool:  # both fetchers have fetched pages
        return re.search(r"per fetcher [1-9]\d* \| [1-9]", screen) is not None

    with linked_site(60, delay_s=0.2) as server:
        screen = run_on_terminal(
            "crawl", server.url("/"), "--follow", "--frontier", redis_server.url,
            "--crawl-id", "stop", "--fetchers", "2", "-w", "0", "-c", "2",
            "-o", str(tmp_path / "site.jsonl"), interrupt_when=working,
        )  # fmt: skip
    assert screen.code == 130, screen.text
    assert screen.text.count("stopping") == 1, screen.text
    written = len(urls_in(tmp_path / "site-1.jsonl", tmp_path / "site-2.jsonl"))
    assert re.search(rf"parcrawl: interrupted in [\d.]+ s: {written} records written", screen.text)
    assert screen.text.count(": exit 130, ") == 2


@pytest.mark.parametrize("output", [["-o", "-"], []], ids=["dash", "default"])
def test_records_piped_to_a_reader_on_the_terminal_get_no_bars_through_them(
    output: list[str], tmp_path: Path
) -> None:
    # `parcrawl crawl … | jq`: jq prints the records to the terminal the bars are drawn on.
    with RouteServer({f"/p{n}": page("<title>p</title>", delay_s=0.05) for n in range(20)}) as site:
        urls = [site.url(f"/p{n}") for n in range(20)]
        piped = run_on_terminal("crawl", *urls, *output, "-w", "0", stdout_pipe=True)
        to_file = run_on_terminal(
            "crawl", *urls, "-o", str(tmp_path / "out.jsonl"), "-w", "0", stdout_pipe=True
        )
    assert piped.code == 0, piped.text
    assert len(piped.stdout.splitlines()) == 20
    assert not piped.frames("fetched"), piped.text
    assert "done in" in piped.text  # the summary still comes, once the records are out
    assert to_file.frames("fetched"), to_file.text  # records in a file leave room for bars


def test_a_follow_crawl_shows_how_many_urls_are_queued_and_no_unknown_rates() -> None:
    screen = run_on_terminal(
        "demo", "--follow", "--pages", "60", "-o", os.devnull, "-w", "0", "--delay", "0.01"
    )
    assert screen.code == 0, screen.text
    fetched = screen.frames("fetched")
    queued = [int(found) for bar in fetched for found in re.findall(r"queued (\d+)", bar)]
    assert queued, fetched
    assert max(queued) > 0
    assert all(re.match(r"fetched: \d+ pages \[", bar) for bar in fetched), fetched
    errors = screen.frames("errors ")
    assert errors
    assert not any("?" in bar for bar in errors), errors
    assert "http_4xx" in errors[-1]


def test_a_crawl_summary_says_where_the_records_went(tmp_path: Path) -> None:
    out = tmp_path / "pages.jsonl"
    with RouteServer({"/a": page("<title>A</title>")}) as site:
        result = parcrawl("crawl", site.url("/a"), "-o", str(out), "-w", "0")
    assert result.returncode == 0, result.stderr
    assert f"parcrawl: records written to {out}\n" in result.stderr
    assert "parcrawl: parse: 1 page, " in result.stderr


def test_a_resumed_crawl_says_how_many_urls_earlier_runs_did(tmp_path: Path) -> None:
    state, first_out, rest_out = tmp_path / "site.crawl", tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    with linked_site(20) as site:
        common = ["crawl", site.url("/"), "--follow", "--state", str(state), "-w", "0"]
        first = parcrawl(*common, "--max-pages", "8", "-o", str(first_out))
        rest = parcrawl(*common, "-o", str(rest_out))
    assert first.returncode == 0, first.stderr
    assert rest.returncode == 0, rest.stderr
    done_before = len(urls_in(first_out))
    assert f"parcrawl: resumed: {done_before} URLs done in earlier runs" in rest.stderr
    assert "duplicate" not in rest.stderr  # the seed was done before, not listed twice
    assert len(urls_in(first_out, rest_out)) == 21

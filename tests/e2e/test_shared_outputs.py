"""A shared crawl's outputs as its user sees them: stopped (Ctrl-C, ``kill -9``) and run
again with the same command, as parcrawl's message says, every record written stays and
the union of the outputs is the site; a process that cannot join touches no file."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_redis_crawl import (
    DEADLINE_S,
    Site,
    group_alive,
    read_urls,
    serving,
    wait_for,
)
from tests.support.cli import parcrawl, started_parcrawl
from tests.support.redis_server import RedisServer, redis_server
from tests.support.warcs import of_type, read_warc

__all__ = ["redis_server"]  # the fixture, imported for this module's tests


def job_file(tmp_path: Path, site: Site, redis: RedisServer) -> Path:
    """The crawl as a job file: a short lease, so a rerun after ``kill -9`` soon gets the
    victim's URLs back (the default 30 s would only make the test slow)."""
    job = tmp_path / "job.toml"
    job.write_text(
        f'seeds = ["{site.url()}"]\nfollow = true\nworkers = 0\n'
        "[fetch]\nconcurrency = 2\n"
        f'[cluster]\nfrontier = "{redis.url}"\ncrawl_id = "again"\nlease_s = 2.0\n'
    )
    return job


def launch(args: list[str]) -> subprocess.Popen[str]:
    # A session of its own: a signal to the group reaches --fetchers' children too, as
    # Ctrl-C in a terminal does (and kill -9 of the group leaves no child running on).
    return started_parcrawl(*args, stdout=subprocess.DEVNULL, start_new_session=True)


def urls_of(path: Path, *, torn_ok: bool = False) -> list[str]:
    """The URLs of a JSON Lines or CSV output (a CSV file must have one header, first).

    ``torn_ok``: a CSV file just killed may end in a partial row (its rows are more than
    one write): it is left out.
    """
    if not path.exists():
        return []
    if path.suffix == ".csv":
        text = path.read_bytes().decode()  # as written: CRLF row ends
        if torn_ok:
            text = text[: text.rfind("\r\n") + 2] if "\r\n" in text else ""
        assert text == "" or text.endswith("\r\n"), f"{path.name}: the last row is partial"
        rows = list(csv.reader(text.splitlines()))
        assert [row for row in rows if row[0] == "url"] == rows[:1], "one header, first"
        return [row[0] for row in rows[1:]]
    return read_urls(path)


@pytest.mark.parametrize(
    ("stop", "fetchers", "extension"),
    [
        # Each stop with one and with two fetchers, each format once with each.
        (signal.SIGINT, 1, ".jsonl"),
        (signal.SIGKILL, 2, ".jsonl"),
        (signal.SIGKILL, 1, ".csv"),
        (signal.SIGINT, 2, ".csv"),
    ],
)
def test_running_a_stopped_shared_crawl_again_keeps_every_record(
    redis_server: RedisServer, tmp_path: Path, stop: signal.Signals, fetchers: int, extension: str
) -> None:
    out = tmp_path / f"out{extension}"
    files = [out] if fetchers == 1 else [tmp_path / f"out-{n}{extension}" for n in (1, 2)]
    with serving(Site(40, delay_s=0.1)) as site:
        command = ["run", str(job_file(tmp_path, site, redis_server)), "-q", "-o", str(out)]
        command += ["--fetchers", str(fetchers)]
        first = launch(command)
        wait_for(lambda: sum(len(urls_of(f, torn_ok=True)) for f in files) >= 4, "records written")
        os.killpg(first.pid, stop)
        _, stderr = first.communicate(timeout=DEADLINE_S)
        wait_for(lambda: not group_alive(first.pid), "every process of the first run ends")
        if stop == signal.SIGINT:
            assert first.returncode == 130, stderr
        before = {path: urls_of(path, torn_ok=True) for path in files}
        assert sum(map(len, before.values())) < len(site.paths)  # stopped mid-crawl
        again = launch(command)  # the very same command
        _, stderr = again.communicate(timeout=DEADLINE_S)
        assert again.returncode == 0, stderr
    after = {path: urls_of(path) for path in files}
    for path in files:  # the first run's records are still there, first
        assert after[path][: len(before[path])] == before[path]
    assert {url for urls in after.values() for url in urls} == site.urls()


def earlier_files(folder: Path) -> dict[str, bytes]:
    """Files an earlier crawl left (records, an archive, a report), as they are on disk."""
    folder.mkdir()
    record = b'{"url":"http://example.test/","status":200,"error":null}\n'
    contents = {
        "out.jsonl": record * 3,
        "out-1.jsonl": record,
        "out-2.jsonl": record * 2,
        "out.warc.gz": b"an earlier archive",
        "report.html": b"<p>an earlier report</p>",
    }
    for name, content in contents.items():
        (folder / name).write_bytes(content)
    return contents


def on_disk(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


@pytest.mark.parametrize("fetchers", [1, 2])
@pytest.mark.parametrize("why", ["unreachable", "other settings", "state file"])
def test_a_shared_crawl_that_cannot_start_touches_no_file(
    redis_server: RedisServer, tmp_path: Path, why: str, fetchers: int
) -> None:
    folder = tmp_path / "work"
    with serving(Site(3, delay_s=0.0)) as site:
        common = ["--follow", "--crawl-id", "scoped", "-w", "0"]
        first = parcrawl(
            "crawl", site.url(), *common, "--frontier", redis_server.url,
            "-o", str(tmp_path / "first.jsonl"), "-q",
        )  # fmt: skip
        assert first.returncode == 0, first.stderr
        contents = earlier_files(folder)
        redis_url, extra, code, words = {
            "unreachable": (RedisServer(tmp_path).url, [], 1, "is unreachable"),
            "other settings": (redis_server.url, ["--exclude", "/p1"], 2, "other settings"),
            "state file": (redis_server.url, ["--state", "s.crawl"], 2, "do not go together"),
        }[why]
        result = parcrawl(
            "crawl", site.url(), *common, "--frontier", redis_url, *extra,
            "-o", "out.jsonl", "--warc", "out.warc.gz", "--report", "report.html",
            "--fetchers", str(fetchers), cwd=folder,
        )  # fmt: skip
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert on_disk(folder) == contents  # nothing emptied, appended to or created


def test_each_fetcher_archives_to_a_warc_file_of_its_own(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    # a slow site, so that the second fetcher, started a moment later, finds work too
    with serving(Site(20, delay_s=0.2)) as site:
        result = parcrawl(
            "crawl", site.url(), "--follow", "--frontier", redis_server.url, "--crawl-id",
            "warcs", "--fetchers", "2", "-w", "0", "-c", "2", "-o", str(tmp_path / "out.jsonl"),
            "--warc", str(tmp_path / "site.warc.gz"), "-q",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    archived: list[str] = []
    for index in (1, 2):
        records = read_urls(tmp_path / f"out-{index}.jsonl")
        warc = tmp_path / f"site-{index}.warc.gz"
        if not records:  # a fetcher that found nothing left to fetch: nothing to archive
            assert not warc.exists()
            continue
        responses = [
            record.headers["WARC-Target-URI"] for record in of_type(read_warc(warc), "response")
        ]
        pages = [url for url in responses if not url.endswith("/robots.txt")]
        assert sorted(pages) == sorted(records)  # its own pages, in its own file
        archived += pages
    assert {path.name for path in tmp_path.glob("*.warc.gz")} <= {
        "site-1.warc.gz",
        "site-2.warc.gz",
    }
    assert sorted(archived) == sorted(site.urls())  # every page archived once, every record whole

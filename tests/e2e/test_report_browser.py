"""The demo's report in a real browser (headless Chromium): every chart drawn, no errors.

Chromium runs as a user would open the file: offline, from disk. ``.ci/run`` installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import orjson
import pytest
from lxml import html as lxml_html

from tests.support.cli import parcrawl
from tests.support.png import colour_counts

CHARTS = {
    "timeline", "statuses", "errors", "response_times", "content_types", "sizes", "depths",
    "hosts", "host_rates", "autothrottle",
}  # fmt: skip
BAR_COLOURS = {"statuses": b"\x4c\x78\xa8", "errors": b"\xe4\x57\x56"}
"""Bar colours of charts in the first screenful (the specs in crawler/report/charts.py)."""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.fail("no Chromium on PATH: install the Debian package chromium (.ci/run does)")


def browse(report: Path, profile: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",  # let the charts' promises settle
            *mode,
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    done = parcrawl("demo", "--pages", "60", "--workers", "1", cwd=folder)
    assert done.returncode == 0, done.stderr
    # The demo ends by saying where its report is.
    assert done.stderr.rstrip().splitlines()[-1] == (
        "parcrawl: report written to parcrawl-demo-report.html"
    )
    return folder / "parcrawl-demo-report.html"


def test_every_chart_renders_with_no_console_errors(demo_report: Path, tmp_path: Path) -> None:
    run = browse(demo_report, tmp_path / "profile", "--dump-dom")
    console = [line for line in run.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]
    assert console == []
    page = lxml_html.fromstring(run.stdout)
    assert page.get_element_by_id("js-errors").text_content() == ""
    assert page.find("body").get("data-charts") == "rendered"
    drawn = {}
    for chart in page.xpath("//div[@data-chart]"):
        marks = chart.xpath('.//svg//g[contains(@class, "role-mark")]/path[string-length(@d) > 0]')
        drawn[chart.get("data-chart")] = len(marks)
    assert set(drawn) == CHARTS
    assert all(count > 0 for count in drawn.values()), drawn
    lines = demo_report.with_name("parcrawl-demo.jsonl").read_bytes().splitlines()
    records = [orjson.loads(line) for line in lines]
    assert drawn["statuses"] == len(Counter(record["status"] for record in records))


def test_the_screenshot_shows_the_charts(demo_report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    browse(demo_report, tmp_path / "profile", "--window-size=1024,1400", f"--screenshot={shot}")
    colours = colour_counts(shot.read_bytes())
    (_, background), *_ = colours.most_common(1)
    assert background < 0.9 * sum(colours.values())  # not one colour all over
    assert len(colours) > 50
    for name, colour in BAR_COLOURS.items():
        assert colours[colour] > 0, f"no {name} bars on screen"

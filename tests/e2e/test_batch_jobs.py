"""Batch runs driven by job files against a loopback shop: fields, rules, steps, outputs."""

from __future__ import annotations

import csv
import json
import random
import subprocess
from pathlib import Path

from crawler.api import crawl
from crawler.jobfile import load_job
from pipelines.sinks.sqlite import read_records
from tests.support.cli import PARCRAWL, REPO, checkout_env
from tests.support.routes import RouteServer, page
from tests.support.user_steps import RAISE_MARKER


def prose(seed: int, words: int = 80) -> str:
    """Distinct, deterministic filler text: pages must differ for near-duplicate checks."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ren", "tu", "sa", "vel", "dor", "pe", "zan", "mo", "ri"]
    return " ".join(
        "".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(words)
    )


ABOUT = prose(1, words=400)


def product(sku: str, price: str, title: str) -> str:
    article = prose(sum(map(ord, sku)))
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<span itemprop='sku'>{sku}</span><p class='price'>Price: {price} EUR</p>"
        f"<img src='/img/{sku}.png'><img src='/img/{sku}-2.png'><p>{article}</p></body></html>"
    )


SHOP = {
    "/": page(
        "<title>Shop</title><h1>Welcome</h1>"
        "<a href='/product/1'>1</a><a href='/product/2'>2</a><a href='/about'>about</a>"
        f"<a href='/product/{RAISE_MARKER}'>x</a><a href='/copy-of-about'>copy</a>"
        "<a href='/thin'>thin</a><a href='/mug-again'>same mug</a>"
    ),
    "/product/1": page(product("SKU-1", "1299.00", "Lamp")),
    "/product/2": page(product("SKU-2", "15.50", "Mug")),
    f"/product/{RAISE_MARKER}": page(product("SKU-X", "1.00", "Broken")),
    "/about": page(f"<title>About</title><h1>About us</h1><p>{ABOUT} shop history</p>"),
    "/copy-of-about": page(f"<title>About</title><h1>About us</h1><p>{ABOUT} our history</p>"),
    "/thin": page("<title>Thin</title><p>too short</p><a href='/deep'>deep</a>"),
    "/mug-again": page(product("SKU-2", "15.50", "Mug")),
    "/deep": page(f"<title>Deep</title><p>{prose(2)}</p>"),
}

JOB = """
seeds = ["{base}/"]
follow = true
workers = 2

[output]
jsonl = "out/shop.jsonl"
sqlite = "out/shop.sqlite"
csv = {{ path = "out/shop.csv", columns = ["url", "title", "fields.sku", "fields.price"] }}

[extract.fields]
headline = {{ css = "h1" }}
images = {{ css = "img", attr = "src", all = true }}

[[extract.rules]]
match = "/product/"
[extract.rules.fields]
sku = {{ css = "[itemprop=sku]" }}
price = {{ css = ".price", regex = '([0-9]+(?:[.][0-9]+)?)', default = "" }}

[[steps]]
use = "min_words"
min = 20

[[steps]]
use = "tests.support.user_steps:explode_on_marker"

[[steps]]
use = "tests.support.user_steps:tag"
label = "checked"

[[steps]]
use = "simhash"
"""


def write_job(tmp_path: Path, base: str, text: str = JOB) -> Path:
    job = tmp_path / "shop.toml"
    job.write_text(text.format(base=base))
    return job


def test_a_job_file_run_extracts_fields_runs_steps_and_writes_every_output(tmp_path):
    with RouteServer(SHOP) as server:
        job = write_job(tmp_path, server.base_url)
        result = subprocess.run(
            [*PARCRAWL, "run", str(job), "-q"],
            env=checkout_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=REPO,
        )
        base = server.base_url
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "out" / "shop.jsonl").read_text().splitlines()
    records = {json.loads(line)["url"].removeprefix(base): json.loads(line) for line in lines}

    lamp = records["/product/1"]
    assert lamp["fields"] == {
        "headline": "Lamp",
        "images": [f"{base}/img/SKU-1.png", f"{base}/img/SKU-1-2.png"],  # src: absolute
        "sku": "SKU-1",
        "price": "1299.00",
    }
    assert lamp["tags"] == ["checked"]
    assert records["/about"]["fields"] == {"headline": "About us", "images": []}  # no rule
    assert "sku" not in records["/about"]["fields"]

    broken = records[f"/product/{RAISE_MARKER}"]
    assert broken["error"]["code"] == "step_error"
    assert "explode_on_marker" in broken["error"]["message"]
    assert "tags" not in broken  # the steps after the failing one did not run

    assert "/thin" not in records  # dropped by min_words...
    assert records["/deep"]["depth"] == 2  # ...but its links were still followed
    # Whichever of two similar pages was written second points at the first.
    pairs = {
        frozenset((path, r["near_duplicate_of"].removeprefix(base)))
        for path, r in records.items()
        if r.get("near_duplicate_of")
    }
    assert pairs == {
        frozenset(("/about", "/copy-of-about")),  # the same text but two words
        frozenset(("/product/2", "/mug-again")),  # the same page twice
    }

    with (tmp_path / "out" / "shop.csv").open(newline="") as handle:
        rows = {row["url"].removeprefix(base): row for row in csv.DictReader(handle)}
    assert rows.keys() == records.keys()
    assert rows["/product/2"]["fields.price"] == "15.50"
    assert rows["/product/2"]["title"] == "Mug"

    stored = {
        r["url"].removeprefix(base): r for r in read_records(tmp_path / "out" / "shop.sqlite")
    }
    assert stored == records


def test_exact_duplicates_are_dropped_when_the_job_asks(tmp_path):
    text = 'seeds = ["{base}/"]\nfollow = true\nworkers = 0\n[[steps]]\nuse = "drop_duplicates"\n'
    with RouteServer(SHOP) as server:
        settings = load_job(write_job(tmp_path, server.base_url, text)).settings
        result = crawl(settings=settings)
    titles = [r["title"] for r in result.records]
    assert titles.count("Mug") == 1
    assert result.stats.dropped == 1


def test_a_user_step_gets_its_options_from_the_job_file(tmp_path):
    text = (
        'seeds = ["{base}/product/1"]\nworkers = 0\n'
        '[extract.fields]\nprice = {{ css = ".price", regex = "([0-9.]+)" }}\n'
        '[[steps]]\nuse = "tests.support.user_steps:clean_prices"\ncurrency = "EUR"\n'
    )
    with RouteServer(SHOP) as server:
        settings = load_job(write_job(tmp_path, server.base_url, text)).settings
        (record,) = crawl(settings=settings).records
    assert record["fields"] == {"price": 129900.0, "currency": "EUR"}  # "1299.00" read as 1.299,00

"""What `bench_crawl.py` measured and how it prints it: contender names, results, ratios, tables.

Knows nothing of how a contender is run (that is `bench_crawl.py`) or sampled
(`process_tree.py`); only how one run's figures compare.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

PARCRAWL_FAST = "parcrawl-fast"  # --parser lxml, 2 workers
PARCRAWL_BS4 = "parcrawl-bs4"  # --parser bs4, 2 workers
PARCRAWL = "parcrawl"  # the default parse path, 2 workers: what runs when there is no --parser
PARCRAWL_W0 = "parcrawl-w0"
PARCRAWL_W2 = "parcrawl-w2"
NAIVE = "naive"
SCRAPY_PARSEL = "scrapy-parsel"
SCRAPY_BS4 = "scrapy-bs4"
WGET2 = "wget2"
PARSE_1 = "parse-1core"
PARSE_2 = "parse-2core"
PARSE_COMPARE = "parse-compare"
FOLLOW_W0 = "follow-w0"
FOLLOW_W2 = "follow-w2"
FOLLOW_STATE = "follow-w2-state"
PARCRAWL_W2_UNTHROTTLED = "parcrawl-w2-no-autothrottle"  # parcrawl-w2 with --no-autothrottle
FOLLOW_UNTHROTTLED = "follow-w2-no-autothrottle"  # follow-w2 with --no-autothrottle
ISSUE_16_BENCHES = (PARCRAWL_FAST, PARCRAWL_BS4, SCRAPY_PARSEL, SCRAPY_BS4, NAIVE, PARSE_COMPARE)
ALL_BENCHES = (
    *ISSUE_16_BENCHES,
    PARCRAWL_W0,
    PARCRAWL_W2,
    FOLLOW_W0,
    FOLLOW_W2,
    FOLLOW_STATE,
    PARCRAWL_W2_UNTHROTTLED,
    FOLLOW_UNTHROTTLED,
    WGET2,
    PARSE_1,
    PARSE_2,
)
PARCRAWL_BENCHES = frozenset(
    {PARCRAWL_FAST, PARCRAWL_BS4, PARCRAWL, PARCRAWL_W0, PARCRAWL_W2, FOLLOW_W0, FOLLOW_W2}
) | {FOLLOW_STATE, PARCRAWL_W2_UNTHROTTLED, FOLLOW_UNTHROTTLED}
SYNTHETIC_ONLY = frozenset({FOLLOW_W0, FOLLOW_W2, FOLLOW_STATE, FOLLOW_UNTHROTTLED})
"""Benches that start from / on the demo site."""


@dataclass(slots=True)
class Result:
    """What one run of a bench measured."""

    name: str
    unit: str
    wall_s: float = 0.0
    rate: float = 0.0
    lines: int | None = None
    ok_lines: int | None = None
    peak_rss_bytes: int = 0
    peak_pss_bytes: int = 0
    rss_samples: int = 0
    cpu_s: float = 0.0
    main_cpu_s: float | None = None  # the crawler process alone, its children excluded
    main_ms_per_page: float | None = None
    pages_seen: list[str] = field(default_factory=list)  # URLs answered 200 with HTML fields
    parse_compare: dict[str, Any] | None = None
    nginx_cpu_s: float = 0.0
    other_cpu_s: float = 0.0
    exit_code: int | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def broke(self) -> bool:
        return bool(self.problems)


# -- report --------------------------------------------------------------------------------

FAST = "parcrawl-fast, else parcrawl"  # the fast path when it exists, else the default path
RATIOS: tuple[tuple[str, str, str, float | None, float | None], ...] = (
    # (label, numerator, denominator, target throughput ratio, target memory ratio)
    ("parcrawl fast / scrapy-parsel", FAST, SCRAPY_PARSEL, 3.0, 1.2),
    ("parcrawl bs4 / scrapy-bs4", PARCRAWL_BS4, SCRAPY_BS4, None, None),
    ("parcrawl fast / parcrawl bs4", FAST, PARCRAWL_BS4, None, None),
    ("parcrawl fast / naive", FAST, NAIVE, None, None),
    ("scrapy-parsel / scrapy-bs4", SCRAPY_PARSEL, SCRAPY_BS4, None, None),
    ("workers=2 / workers=0", PARCRAWL_W2, PARCRAWL_W0, 1.6, None),
    ("follow-w2 / follow-w0", FOLLOW_W2, FOLLOW_W0, None, None),
    ("with --state / without", FOLLOW_STATE, FOLLOW_W2, 0.9, None),
    ("follow-w2 / workers=2 (list)", FOLLOW_W2, PARCRAWL_W2, None, None),
    ("workers=2 / two-core parse limit", PARCRAWL_W2, PARSE_2, None, None),
    ("autothrottle on / off (list)", PARCRAWL_W2, PARCRAWL_W2_UNTHROTTLED, None, None),
    ("autothrottle on / off (follow)", FOLLOW_W2, FOLLOW_UNTHROTTLED, None, None),
)
PARSE_SPEEDUP_TARGET = 5.0


def pick(chosen: dict[str, Result], name: str) -> Result | None:
    if name == FAST:
        return chosen.get(PARCRAWL_FAST) or chosen.get(PARCRAWL)
    return chosen.get(name)


def representative(runs: list[Result]) -> Result:
    """The run with the median rate (the lower one of the middle two for an even count)."""
    rate = statistics.median_low(run.rate for run in runs)
    return next(run for run in runs if run.rate == rate)


def mib(value: int) -> str:
    return f"{value / 2**20:.0f}"


def print_rows(rows: list[list[str]], left: frozenset[int] = frozenset({0})) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))


def print_table(chosen: dict[str, Result], runs: dict[str, list[Result]]) -> None:
    spread = any(len(values) > 1 for values in runs.values())
    header = ["bench", "wall s", "rate", "unit", "lines", "200s", "peak PSS MiB"]
    header += ["peak RSS MiB", "CPU s", "main ms/page", "nginx CPU s", "other CPU s"]
    header += ["rate spread"] if spread else []
    rows = [header]
    for name, result in chosen.items():
        if result.parse_compare is not None:
            continue  # printed on its own line
        sampled = result.rss_samples > 2
        row = [
            name,
            f"{result.wall_s:.2f}",
            f"{result.rate:.1f}",
            result.unit,
            "-" if result.lines is None else str(result.lines),
            "-" if result.ok_lines is None else str(result.ok_lines),
            mib(result.peak_pss_bytes) if sampled and result.peak_pss_bytes else "-",
            mib(result.peak_rss_bytes) if sampled else "-",
            f"{result.cpu_s:.2f}",
            "-" if result.main_ms_per_page is None else f"{result.main_ms_per_page:.2f}",
            f"{result.nginx_cpu_s:.2f}",
            f"{result.other_cpu_s:.2f}",
        ]
        if spread:
            rates = [run.rate for run in runs[name]]
            row.append(f"{(max(rates) - min(rates)) / result.rate:.0%}" if result.rate else "-")
        rows.append(row)
    print_rows(rows, left=frozenset({0, 3}))


def compute_ratios(chosen: dict[str, Result]) -> list[dict[str, Any]]:
    ratios = []
    for label, top, bottom, target, memory_target in RATIOS:
        a, b = pick(chosen, top), pick(chosen, bottom)
        if a is None or b is None or a.broke or b.broke or not b.rate:
            continue
        sampled = min(a.rss_samples, b.rss_samples) > 2 and b.peak_pss_bytes > 0
        ratios.append(
            {
                "label": f"{label} ({a.name} / {b.name})",
                "throughput": a.rate / b.rate,
                "memory": a.peak_pss_bytes / b.peak_pss_bytes if sampled else None,
                "cpu": a.cpu_s / b.cpu_s if b.cpu_s else None,
                "target_throughput": target,
                "target_memory": memory_target,
            }
        )
    return ratios


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def print_ratios(ratios: list[dict[str, Any]]) -> None:
    print("\nratios (throughput: rate / rate; memory: peak PSS / peak PSS; cpu: CPU s / CPU s)")
    width = max((len(ratio["label"]) for ratio in ratios), default=0)
    for ratio in ratios:
        line = f"  {ratio['label'].ljust(width)}  throughput {ratio['throughput']:5.2f}x"
        line += f"  memory {ratio['memory']:5.2f}x" if ratio["memory"] is not None else ""
        line += f"  cpu {ratio['cpu']:5.2f}x" if ratio["cpu"] is not None else ""
        targets = []
        if ratio["target_throughput"] is not None:
            met = ratio["throughput"] >= ratio["target_throughput"]
            targets.append(f"throughput >= {ratio['target_throughput']:g} ({verdict(met)})")
        if ratio["target_memory"] is not None and ratio["memory"] is not None:
            met = ratio["memory"] <= ratio["target_memory"]
            targets.append(f"memory <= {ratio['target_memory']:g} ({verdict(met)})")
        if targets:
            line += "   targets: " + ", ".join(targets) + "; information only"
        print(line)


def print_parse_compare(result: Result) -> None:
    compare = result.parse_compare
    if compare is None:
        return
    speedup = float(compare["speedup"])
    differ = compare["pages_differing"]
    print(
        f"\nparse only, one process, {compare['pages']} pages: "
        f"fast {compare['fast_ms_per_page']:.1f} ms/page [{compare['fast_impl']}], "
        f"bs4 {compare['bs4_ms_per_page']:.1f} ms/page [{compare['bs4_impl']}]: "
        f"{speedup:.1f}x (target >= {PARSE_SPEEDUP_TARGET:g}: "
        f"{verdict(speedup >= PARSE_SPEEDUP_TARGET)}; information only)"
    )
    print(
        f"  pages whose fields differ between the two: title {differ['title']}, "
        f"text {differ['text']}, links {differ['links']}"
    )


def check_same_pages(chosen: dict[str, Result]) -> list[str]:
    """Problems when the list-driven crawlers did not all parse the same set of pages."""
    sets = {name: frozenset(r.pages_seen) for name, r in chosen.items() if r.lines is not None}
    sets = {name: pages for name, pages in sets.items() if name not in SYNTHETIC_ONLY}
    if len(sets) < 2:
        return []
    reference_name, reference = next(iter(sets.items()))
    differing = [name for name, pages in sets.items() if pages != reference]
    if differing:
        return [f"parsed other pages than {reference_name}: {', '.join(differing)}"]
    print(f"\nsame pages: all {len(sets)} crawlers parsed the same {len(reference)} HTML pages")
    return []


def print_summary(by_site: dict[str, dict[str, Result]]) -> None:
    """One line per crawler, one column pair per site: the README's Performance table."""
    names = [PARCRAWL_FAST, PARCRAWL_BS4, PARCRAWL, SCRAPY_PARSEL, SCRAPY_BS4, NAIVE]
    header = ["crawler"]
    for site in by_site:
        header += [f"{site} pages/s", f"{site} peak PSS MiB", f"{site} main ms/page"]
    rows = [header]
    for name in names:
        if not any(name in chosen for chosen in by_site.values()):
            continue
        row = [name]
        for chosen in by_site.values():
            result = chosen.get(name)
            if result is None or result.broke:
                row += ["-", "-", "-"]
                continue
            row.append(f"{result.rate:.1f}")
            row.append(mib(result.peak_pss_bytes) if result.peak_pss_bytes else "-")
            main = result.main_ms_per_page
            row.append(f"{main:.2f}" if main is not None and name in PARCRAWL_BENCHES else "-")
        rows.append(row)
    print("\n== summary (one run; rates in HTML pages/s of wall time, start-up included) ==")
    print_rows(rows)

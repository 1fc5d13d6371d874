"""The deterministic synthetic website behind `parcrawl demo`, the tests and the benchmarks.

Owns page generation only; `crawler.demo.server` serves it. It knows nothing about crawling.
"""

from __future__ import annotations

import html
import posixpath
import random
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pathlib import Path

HTML_CONTENT_TYPE: Final = "text/html; charset=utf-8"

_SYLLABLES: Final = (
    "ka", "lo", "mi", "ren", "tu", "sa", "vel", "dor", "pe", "qui", "zan", "mo", "ri", "ta",
    "nel", "bru", "shi", "fa", "gon", "li", "ver", "xa", "po", "del", "un", "ar", "es", "or",
    "im", "ba", "cu", "to", "lem", "pra", "sto", "vi", "ne", "hal", "ju", "kor",
)  # fmt: skip
# Non-ASCII syllables make the de/fr pages exercise real UTF-8 decoding.
_LANG_SYLLABLES: Final = {
    "en": (),
    "de": ("schü", "ßen", "äu", "zwö", "berg", "lich", "keit"),
    "fr": ("é", "çon", "èr", "eau", "oû", "ille", "gné"),
}
_POOL_SENTENCES: Final = {"en": 3000, "de": 600, "fr": 600}
_CSS: Final = (
    "body{margin:0;font:15px/1.5 Georgia,serif;color:#222;background:#fafafa}"
    ".site-header{padding:12px 24px;background:#1d3557;color:#fff}"
    ".main-nav ul{display:flex;gap:12px;list-style:none;margin:0;padding:8px 24px}"
    ".main-nav a{color:#1d3557;text-decoration:none}"
    "main{max-width:920px;margin:0 auto;padding:16px 24px}"
    "table.data{border-collapse:collapse;width:100%;margin:12px 0}"
    "table.data td,table.data th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    "footer{padding:16px 24px;color:#666;font-size:13px}"
)
_MIN_LINKS: Final = 10
_MAX_LINKS: Final = 30
_HOME_NAV_LINKS: Final = 10
_FILE_KINDS: Final = (
    ("/files/report-{n}.pdf", "application/pdf"),
    ("/files/data-{n}.csv", "text/csv"),
    ("/img/pic-{n}.png", "image/png"),
)


@dataclass(frozen=True, slots=True)
class _Link:
    target: str  # absolute path without fragment: what `links_of` reports
    href: str  # as written in the markup


@dataclass(frozen=True, slots=True)
class _PagePlan:
    index: int
    path: str
    lang: str
    seed: int
    nav: tuple[_Link, ...]
    body: tuple[_Link, ...]


@dataclass(frozen=True, slots=True)
class _Pool:
    words: tuple[str, ...]
    sentences: tuple[str, ...]


class SyntheticSite:
    """A generated website: same `pages` and `seed` always give byte-identical responses.

    Paths: `/` and `/page/{i}.html` (HTML, `pages` in all, each reachable from `/`),
    `/files/*.pdf|csv` and `/img/*.png` (non-HTML), `/missing/{k}.html` (linked, 404).
    """

    def __init__(self, pages: int = 500, seed: int = 0) -> None:
        """Plan the link graph; pages are rendered on first use and cached.

        Raises:
            ValueError: if `pages` is below 1.
        """
        if pages < 1:
            raise ValueError(f"pages must be >= 1, got {pages}")
        self.pages = pages
        self.seed = seed
        rng = random.Random(seed)
        self._html = ["/", *(f"/page/{i}.html" for i in range(1, pages))]
        self._html_index = {path: i for i, path in enumerate(self._html)}
        n_assets = max(3, round(pages / 50))
        self._files: dict[str, tuple[str, int]] = {}
        for j in range(n_assets):
            template, content_type = _FILE_KINDS[j % len(_FILE_KINDS)]
            self._files[template.format(n=j // len(_FILE_KINDS) + 1)] = (
                content_type,
                rng.getrandbits(64),
            )
        self._missing = [f"/missing/{k}.html" for k in range(1, max(2, round(pages / 50)) + 1)]
        self._pools = {lang: _build_pool(rng, lang) for lang in _LANG_SYLLABLES}
        self._plans = self._plan_pages(rng)
        self._responses: dict[str, tuple[int, str, bytes]] = {}

    def html_paths(self) -> list[str]:
        """All HTML page paths, the home page `/` first."""
        return list(self._html)

    def file_paths(self) -> list[str]:
        """The non-HTML files (PDF, CSV, PNG)."""
        return list(self._files)

    def missing_paths(self) -> list[str]:
        """Paths that pages link to but that answer 404."""
        return list(self._missing)

    def all_paths(self) -> list[str]:
        """HTML pages, then files, then missing pages: the demo's URL list."""
        return [*self._html, *self._files, *self._missing]

    def urls(self, base_url: str) -> list[str]:
        """`all_paths()` joined onto `base_url` (e.g. `http://127.0.0.1:8123`)."""
        base = base_url.rstrip("/")
        return [base + path for path in self.all_paths()]

    def links_of(self, path: str) -> list[str]:
        """Absolute-path link targets of an HTML page, fragments removed, in page order, unique.

        Non-HTML and unknown paths have no links.
        """
        index = self._html_index.get(path)
        if index is None:
            return []
        plan = self._plans[index]
        return list(dict.fromkeys(link.target for link in (*plan.nav, *plan.body)))

    def response(self, path: str) -> tuple[int, str, bytes]:
        """The (status, content type, body) served for `path`; unknown paths get a 404 page."""
        cached = self._responses.get(path)
        if cached is not None:
            return cached
        index = self._html_index.get(path)
        if index is not None:
            result = (200, HTML_CONTENT_TYPE, self._render_page(self._plans[index]))
        elif path in self._files:
            content_type, seed = self._files[path]
            result = (200, content_type, _file_body(content_type, random.Random(seed)))
        else:
            # Not cached: a fuzzing client must not grow memory without bound.
            return 404, HTML_CONTENT_TYPE, _not_found_body(path)
        self._responses[path] = result
        return result

    def render_all(self) -> None:
        """Render and cache every existing page and file, so later responses cost nothing."""
        for path in (*self._html, *self._files):
            self.response(path)

    def write_to(self, directory: Path) -> None:
        """Write every existing page and file under `directory` (`/` becomes `index.html`)."""
        for path in (*self._html, *self._files):
            relative = "index.html" if path == "/" else path.lstrip("/")
            destination = directory / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(self.response(path)[2])

    def _plan_pages(self, rng: random.Random) -> list[_PagePlan]:
        # Each asset hangs off one page; the stride spreads them through the site.
        assets_by_page: dict[int, list[str]] = {}
        for t, asset in enumerate([*self._files, *self._missing]):
            assets_by_page.setdefault((t * 53 + 11) % self.pages, []).append(asset)
        plans = []
        for index, path in enumerate(self._html):
            nav_targets = self._nav_targets(index)
            assets = assets_by_page.get(index, [])
            wanted = rng.randint(_MIN_LINKS, _MAX_LINKS) - len(nav_targets) - len(assets)
            taken = {path, *nav_targets}
            body_targets = [*self._random_pages(rng, wanted, taken), *assets]
            rng.shuffle(body_targets)
            # Tiny sites lack distinct targets; repeat some (with a fragment) to keep >= 10 anchors.
            padding = [*nav_targets, *body_targets] or [path]
            while len(nav_targets) + len(body_targets) < _MIN_LINKS:
                body_targets.append(padding[len(body_targets) % len(padding)])
            nav = tuple(_Link(t, _href(rng, path, t, fragment_p=0.0)) for t in nav_targets)
            body = tuple(_Link(t, _href(rng, path, t, fragment_p=0.12)) for t in body_targets)
            plans.append(_PagePlan(index, path, _lang_of(index), rng.getrandbits(64), nav, body))
        return plans

    def _nav_targets(self, index: int) -> list[str]:
        if index == 0:
            return self._html[1 : 1 + _HOME_NAV_LINKS]
        # The link to the next page chains every page to the home page.
        neighbours = [i for i in (index - 1, index + 1) if 1 <= i < self.pages]
        return ["/", *(self._html[i] for i in neighbours)]

    def _random_pages(self, rng: random.Random, count: int, taken: set[str]) -> list[str]:
        count = max(0, count)
        available = [p for p in self._html if p not in taken] if self.pages <= 200 else None
        if available is not None:
            return rng.sample(available, min(count, len(available)))
        chosen: dict[str, None] = {}
        while len(chosen) < count:
            candidate = self._html[rng.randrange(self.pages)]
            if candidate not in taken:
                chosen[candidate] = None
        return list(chosen)

    def _render_page(self, plan: _PagePlan) -> bytes:
        rng = random.Random(plan.seed)
        pool = self._pools[plan.lang]
        target_chars = int(rng.triangular(10_400, 55_000, 22_500))
        name = " ".join(w.capitalize() for w in rng.sample(pool.words, 2))
        title = "Parcrawl demo — Home" if plan.index == 0 else f"{name} — Page {plan.index}"
        description = html.escape(rng.choice(pool.sentences))
        nav = "".join(f'<li><a href="{link.href}">{_anchor_text(rng, pool, link)}</a></li>'
                      for link in plan.nav)  # fmt: skip
        head = (
            f'<!doctype html>\n<html lang="{plan.lang}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n"
            f'<meta name="description" content="{description}">\n'
            f'<link rel="canonical" href="{plan.path}">\n'
            f"<style>{_CSS}.accent{{color:#{rng.getrandbits(24):06x}}}</style>\n"
            f"<script>var pcPage={plan.index},pcSeed={plan.seed % 9973};"
            "function pcInit(n){return n*2+pcPage;}pcInit(pcSeed);</script>\n"
            f'</head>\n<body>\n<header class="site-header"><h1>{title}</h1></header>\n'
            f'<nav class="main-nav"><ul>{nav}</ul></nav>\n<main>\n<article>\n'
        )
        footer = (
            "</article>\n</main>\n<footer><p>&copy; 2024 Parcrawl demo &middot; "
            f"page {plan.index + 1} of {self.pages}</p></footer>\n</body>\n</html>\n"
        )
        parts = [head]
        size = len(head) + len(footer)
        pending = list(plan.body)
        section = 0
        # Every link must land in the body even when the size target is met early.
        while size < target_chars or pending:
            section += 1
            block = _section(rng, pool, section, pending)
            parts.append(block)
            size += len(block)
        parts.append(footer)
        return "".join(parts).encode("utf-8")


def _lang_of(index: int) -> str:
    # Fixed residues, not chance, so any site of 30+ pages has both languages.
    if index % 23 == 5:
        return "de"
    if index % 29 == 7:
        return "fr"
    return "en"


def _build_pool(rng: random.Random, lang: str) -> _Pool:
    syllables = _SYLLABLES + _LANG_SYLLABLES[lang]
    words = tuple(
        dict.fromkeys(
            "".join(rng.choices(syllables, k=rng.choice((1, 2, 2, 3, 3, 4)))) for _ in range(1200)
        )
    )
    sentences = []
    for _ in range(_POOL_SENTENCES[lang]):
        chosen = rng.choices(words, k=rng.randint(6, 16))
        if rng.random() < 0.3:
            chosen[rng.randrange(1, len(chosen))] += ","
        sentence = " ".join(chosen).rstrip(",")
        sentences.append(sentence[0].upper() + sentence[1:] + rng.choice(".....?"))
    return _Pool(words, tuple(sentences))


def _href(rng: random.Random, source: str, target: str, *, fragment_p: float) -> str:
    """One of several spellings of `target` that all resolve to it from `source`."""
    source_dir = posixpath.dirname(source)
    depth = 0 if source_dir == "/" else source_dir.count("/")
    roll = rng.random()
    if roll < 0.4:
        href = target
    elif target == "/":
        href = "../" * depth or "./"
    elif roll < 0.75:
        href = posixpath.relpath(target, source_dir)
    else:
        href = ("../" * depth or "./") + target[1:]
    if rng.random() < fragment_p:
        href += f"#s{rng.randint(1, 6)}"
    return href


def _anchor_text(rng: random.Random, pool: _Pool, link: _Link) -> str:
    if link.target == "/":
        return "Home"
    return " ".join(rng.choices(pool.words, k=rng.randint(1, 3))).capitalize()


def _section(rng: random.Random, pool: _Pool, number: int, pending: list[_Link]) -> str:
    """An article section; consumes links from the front of `pending` into its paragraphs."""
    heading = " ".join(rng.choices(pool.words, k=rng.randint(2, 5))).capitalize()
    parts = [f'<section id="s{number}">\n<h2>{heading}</h2>\n']
    for _ in range(rng.randint(2, 4)):
        sentences = rng.choices(pool.sentences, k=rng.randint(2, 5))
        if rng.random() < 0.2:
            sentences[0] = f"<strong>{sentences[0]}</strong>"
        if rng.random() < 0.2:
            sentences[-1] = f"<em>{sentences[-1]}</em>"
        links = [pending.pop(0) for _ in range(min(len(pending), rng.randint(1, 3)))]
        slots = sorted(rng.randint(0, len(sentences)) for _ in links)
        # Sorted slots shifted by the anchors already placed keep links in plan order.
        for placed, (slot, link) in enumerate(zip(slots, links, strict=True)):
            anchor = f'<a href="{link.href}">{_anchor_text(rng, pool, link)}</a>'
            sentences.insert(slot + placed, anchor)
        parts.append(f"<p>{' '.join(sentences)}</p>\n")
    roll = rng.random()
    if roll < 0.35:
        parts.append(_table(rng, pool))
    elif roll < 0.7:
        tag = rng.choice(("ul", "ol"))
        items = "".join(f"<li>{' '.join(rng.choices(pool.words, k=rng.randint(2, 7)))}</li>"
                        for _ in range(rng.randint(3, 8)))  # fmt: skip
        parts.append(f'<{tag} class="points">{items}</{tag}>\n')
    parts.append("</section>\n")
    return "".join(parts)


def _table(rng: random.Random, pool: _Pool) -> str:
    caption = " ".join(rng.choices(pool.words, k=3)).capitalize()
    rows = []
    for _ in range(rng.randint(4, 12)):
        name = " ".join(rng.choices(pool.words, k=2))
        code = f"{rng.choice('ABCDEFGH')}{rng.choice('KLMNPRST')}-{rng.randint(100, 999)}"
        rows.append(
            f"<tr><td>{name}</td><td>{code}</td><td>{rng.randint(1, 99_999):,}</td>"
            f"<td>{rng.uniform(0, 100):.1f}%</td></tr>"
        )
    return (
        f'<table class="data"><caption>{caption}</caption>'
        "<thead><tr><th>Name</th><th>Code</th><th>Value</th><th>Share</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>\n"
    )


def _file_body(content_type: str, rng: random.Random) -> bytes:
    if content_type == "application/pdf":
        stream = rng.randbytes(rng.randint(2_000, 20_000))
        return (
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            + b"3 0 obj\n<< /Length %d >>\nstream\n" % len(stream)
            + stream
            + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
        )
    if content_type == "text/csv":
        rows = [f"{i},item-{rng.randrange(10_000)},{rng.uniform(0, 1000):.2f}"
                for i in range(rng.randint(20, 200))]  # fmt: skip
        return ("id,name,value\n" + "\n".join(rows) + "\n").encode("ascii")
    return _png(rng)


def _png(rng: random.Random) -> bytes:
    """A real 16x16 RGB PNG with a deterministic gradient."""
    width = height = 16
    red, green, blue = rng.randrange(256), rng.randrange(256), rng.randrange(256)
    raw = b"".join(
        b"\x00" + bytes((red, (green + 8 * y) % 256, blue)) * width for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _not_found_body(path: str) -> bytes:
    return (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        "<title>404 Not Found</title></head>\n"
        f"<body><h1>Not Found</h1><p>No page at {html.escape(path)}</p></body>\n</html>\n"
    ).encode()

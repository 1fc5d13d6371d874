"""Auto mode's choice per page: a sample per host, then a verdict; modes and rules above it."""

from __future__ import annotations

from typing import Any

from crawler.models import FetchRequest, FetchResult
from crawler.rendering import PageShape, RenderPolicy, adds
from crawler.settings import RenderSettings

SHELL = b"<html><body><div id=root></div><script src=a.js></script></body></html>"
STATIC = b"<html><body><p>plenty</p></body></html>"


def result(url: str, body: bytes = STATIC, depth: int = 0, **facts: Any) -> FetchResult:
    values: dict[str, Any] = {
        "status": 200,
        "content_type": "text/html; charset=utf-8",
        "body_kept": True,
    }
    values.update(facts)
    return FetchResult(
        FetchRequest(url, depth),
        url,
        values["status"],
        (),
        values["content_type"],
        body,
        len(body),
        1.0,
        "2026-01-01T00:00:00.000Z",
        body_kept=values["body_kept"],
    )


def flags_shells(body: bytes) -> str | None:
    return "empty_root" if body == SHELL else None


def policy(**settings: Any) -> RenderPolicy:
    return RenderPolicy(RenderSettings(**{"mode": "auto", **settings}), detect=flags_shells)


def run(policy: RenderPolicy, page: FetchResult, added: bool | None) -> tuple[bool, str]:
    """Decide for ``page``, and when rendered (for its record or to learn: a probe), teach
    the policy what the render ``added``."""
    decision = policy.decide(page)
    if decision.render or decision.probe:
        policy.learn(page.final_url, decision, added)
    return decision.render, decision.reason


def test_a_host_whose_sample_added_nothing_renders_only_flagged_pages() -> None:
    auto = policy(sample=2)
    seen = [run(auto, result(f"http://s.test/{n}"), added=False) for n in range(4)]
    assert seen == [(False, "sample")] * 2 + [(False, "static_html")] * 2  # two probes
    assert auto.verdict("http://s.test/") == "static"
    assert run(auto, result("http://s.test/shell", SHELL), added=True) == (True, "empty_root")


def test_a_static_host_whose_flagged_pages_keep_adding_nothing_is_no_longer_rendered() -> None:
    auto = policy(sample=1)
    run(auto, result("http://s.test/"), added=False)
    flagged = [run(auto, result(f"http://s.test/{n}", SHELL), added=False) for n in range(4)]
    assert flagged == [(True, "empty_root")] * 3 + [(False, "host_static")]
    assert auto.verdict("http://s.test/") == "quiet"


def test_a_host_whose_sample_all_added_goes_straight_to_the_browser() -> None:
    auto = policy(sample=3)
    shells = [run(auto, result(f"http://d.test/{n}", SHELL), added=True) for n in range(3)]
    assert shells == [(True, "empty_root")] * 3  # rendered for their records, and learnt from
    assert run(auto, result("http://d.test/static"), added=True) == (True, "host_dynamic")
    assert auto.verdict("http://d.test/x") == "dynamic"


def test_a_mixed_host_lets_the_detector_decide_page_by_page() -> None:
    auto = policy(sample=2)
    run(auto, result("http://m.test/1", SHELL), added=True)
    run(auto, result("http://m.test/2"), added=False)
    assert auto.verdict("http://m.test/") == "mixed"
    assert run(auto, result("http://m.test/3"), added=None) == (False, "static_html")
    assert run(auto, result("http://m.test/4", SHELL), added=True) == (True, "empty_root")


def test_hosts_learn_apart() -> None:
    auto = policy(sample=1)
    run(auto, result("http://a.test/"), added=False)
    assert run(auto, result("http://b.test/"), added=False) == (False, "sample")


def test_pages_decided_while_the_sample_renders_go_by_the_detector() -> None:
    auto = policy(sample=1)
    first = auto.decide(result("http://s.test/1"))
    assert (first.render, first.probe, first.reason) == (False, True, "sample")
    assert auto.decide(result("http://s.test/2", SHELL)).reason == "empty_root"
    assert auto.decide(result("http://s.test/3")).reason == "static_html"


def test_a_failed_sample_render_teaches_nothing() -> None:
    auto = policy(sample=2)
    run(auto, result("http://f.test/1"), added=None)
    run(auto, result("http://f.test/2"), added=False)
    assert auto.verdict("http://f.test/") == "static"


def test_only_html_pages_that_came_whole_with_a_200_are_rendered() -> None:
    auto = policy()
    assert auto.decide(result("http://t.test/a.pdf", content_type="application/pdf")).reason == (
        "not_html"
    )
    assert auto.decide(result("http://t.test/big", body_kept=False)).reason == "not_html"
    assert auto.decide(result("http://t.test/gone", status=404)).reason == "not_ok"


def test_always_and_never() -> None:
    assert policy(mode="always").decide(result("http://t.test/")).reason == "always"
    decision = policy(mode="never").decide(result("http://t.test/"))
    assert (decision.render, decision.reason) == (False, "never")


def test_a_rule_overrides_the_mode_for_its_pages_with_its_selector() -> None:
    rules = [
        {"host": "app.test", "mode": "always", "wait_for": "#list"},
        {"match": "/static/", "mode": "never"},
    ]
    ruled = RenderPolicy(RenderSettings(mode="auto", rules=rules), detect=flags_shells)
    app = ruled.decide(result("http://www.app.test/page"))
    assert (app.render, app.reason, app.wait_for) == (True, "rule", "#list")
    assert ruled.decide(result("http://x.test/static/a")).reason == "rule"
    assert ruled.decide(result("http://x.test/page")).reason == "sample"


def test_a_render_adds_when_it_brings_text_or_links() -> None:
    links = frozenset({"http://t.test/a", "http://t.test/b"})
    more = links | {"http://t.test/c", "http://t.test/d", "http://t.test/e"}
    assert adds(PageShape(0, frozenset()), PageShape(900, frozenset()))
    assert adds(PageShape(50, frozenset()), PageShape(50, frozenset({"http://t.test/a"})))
    assert adds(PageShape(5000, links), PageShape(5000, more))
    assert not adds(PageShape(5000, links), PageShape(5300, links))  # a banner's worth
    assert not adds(PageShape(5000, links), PageShape(5000, links | {"http://t.test/c"}))


def test_a_probe_that_could_not_go_leaves_its_place_in_the_sample() -> None:
    auto = policy(sample=1)
    probe = auto.decide(result("http://s.test/1"))
    auto.forgo("http://s.test/1", probe)
    assert auto.decide(result("http://s.test/2")).probe

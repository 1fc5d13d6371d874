"""Auto mode's choice per page: the detector, a sample of flagged renders per host, then a
verdict; probes if asked; modes and rules above it."""

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


NOTE = b"<html><body><noscript>enable javascript</noscript><script></script></body></html>"


def flags_shells(body: bytes) -> str | None:
    """The detector, as it would answer: a shell is an empty root (a strong sign), a
    page asking for JavaScript in ``<noscript>`` a weak one."""
    return {SHELL: "empty_root", NOTE: "noscript"}.get(body)


def policy(**settings: Any) -> RenderPolicy:
    return RenderPolicy(RenderSettings(**{"mode": "auto", **settings}), detect=flags_shells)


def run(policy: RenderPolicy, page: FetchResult, added: bool | None) -> tuple[bool, str]:
    """Decide for ``page``, and when rendered (for its record or to learn: a probe), teach
    the policy what the render ``added``."""
    decision = policy.decide(page)
    if decision.render or decision.probe:
        policy.learn(page.final_url, decision, added)
    return decision.render, decision.reason


def test_pages_that_look_static_are_not_rendered_and_start_nothing() -> None:
    auto = policy()
    seen = [run(auto, result(f"http://s.test/{n}"), added=True) for n in range(5)]
    assert seen == [(False, "static_html")] * 5
    assert auto.verdict("http://s.test/") == "learning"


def test_a_host_whose_flagged_renders_added_nothing_is_rendered_no_more() -> None:
    auto = policy(sample=2)
    flagged = [run(auto, result(f"http://s.test/{n}", SHELL), added=False) for n in range(3)]
    assert flagged == [(True, "empty_root")] * 2 + [(False, "host_static")]
    assert auto.verdict("http://s.test/") == "static"


def test_a_host_whose_flagged_renders_all_added_goes_straight_to_the_browser() -> None:
    auto = policy(sample=3)
    shells = [run(auto, result(f"http://d.test/{n}", SHELL), added=True) for n in range(3)]
    assert shells == [(True, "empty_root")] * 3  # rendered for their records, and learnt from
    assert run(auto, result("http://d.test/static"), added=True) == (True, "host_dynamic")
    assert auto.verdict("http://d.test/x") == "dynamic"


def test_a_mixed_host_lets_the_detector_decide_page_by_page() -> None:
    auto = policy(sample=2)
    run(auto, result("http://m.test/1", SHELL), added=True)
    run(auto, result("http://m.test/2", SHELL), added=False)
    assert auto.verdict("http://m.test/") == "mixed"
    assert run(auto, result("http://m.test/3"), added=None) == (False, "static_html")
    assert run(auto, result("http://m.test/4", SHELL), added=True) == (True, "empty_root")


def test_a_host_with_static_pages_whose_shells_all_gain_still_goes_page_by_page() -> None:
    # the shells gaining only says the guess is right: its static pages need no browser
    auto = policy(sample=2)
    run(auto, result("http://m.test/shell", SHELL), added=True)
    run(auto, result("http://m.test/static"), added=None)
    run(auto, result("http://m.test/shell2", SHELL), added=True)
    assert auto.verdict("http://m.test/") == "mixed"
    assert run(auto, result("http://m.test/static2"), added=None) == (False, "static_html")


def test_a_host_that_opened_static_does_not_render_a_page_with_only_a_weak_sign() -> None:
    auto = policy(sample=2)
    run(auto, result("http://s.test/1"), added=None)
    run(auto, result("http://s.test/2"), added=None)
    # a search page asking for JavaScript on a static site: a widget, not the page
    assert run(auto, result("http://s.test/search", NOTE), added=None) == (False, "host_static")
    # an empty application root still is the script's page
    assert run(auto, result("http://s.test/app", SHELL), added=True) == (True, "empty_root")


def test_a_weak_sign_is_rendered_on_a_host_that_did_not_open_static() -> None:
    early = policy(sample=2)
    run(early, result("http://e.test/1"), added=None)
    assert run(early, result("http://e.test/note", NOTE), added=False) == (True, "noscript")
    opened_flagged = policy(sample=2)
    run(opened_flagged, result("http://f.test/app", SHELL), added=True)
    run(opened_flagged, result("http://f.test/2"), added=None)
    assert run(opened_flagged, result("http://f.test/note", NOTE), added=True) == (
        True,
        "noscript",
    )


def test_hosts_learn_apart() -> None:
    auto = policy(sample=1)
    run(auto, result("http://a.test/", SHELL), added=False)
    assert run(auto, result("http://a.test/2", SHELL), added=False) == (False, "host_static")
    assert run(auto, result("http://b.test/", SHELL), added=False) == (True, "empty_root")


def test_pages_decided_while_the_sample_renders_go_by_the_detector() -> None:
    auto = policy(sample=1)
    first = auto.decide(result("http://s.test/1", SHELL))
    assert (first.render, first.learn, first.reason) == (True, True, "empty_root")
    second = auto.decide(result("http://s.test/2", SHELL))
    assert (second.render, second.learn) == (True, False)  # the sample is handed out
    assert auto.decide(result("http://s.test/3")).reason == "static_html"


def test_a_failed_render_teaches_nothing() -> None:
    auto = policy(sample=2)
    run(auto, result("http://f.test/1", SHELL), added=None)
    run(auto, result("http://f.test/2", SHELL), added=False)
    assert auto.verdict("http://f.test/") == "static"
    auto = policy(sample=1)
    run(auto, result("http://g.test/1", SHELL), added=None)
    assert auto.verdict("http://g.test/") == "mixed"  # nothing known: page by page


def test_a_probe_that_gains_sends_the_host_to_the_browser() -> None:
    auto = policy(probe=2)
    assert run(auto, result("http://p.test/1"), added=False) == (False, "probe")
    assert auto.verdict("http://p.test/") == "learning"
    assert run(auto, result("http://p.test/2"), added=True) == (False, "probe")
    assert auto.verdict("http://p.test/") == "dynamic"
    assert run(auto, result("http://p.test/3"), added=None) == (True, "host_dynamic")


def test_probes_stop_at_their_number_per_host() -> None:
    auto = policy(probe=1)
    assert run(auto, result("http://p.test/1"), added=False) == (False, "probe")
    assert run(auto, result("http://p.test/2"), added=False) == (False, "static_html")
    assert run(auto, result("http://q.test/1"), added=False) == (False, "probe")


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
    assert ruled.decide(result("http://x.test/page")).reason == "static_html"


def test_a_render_adds_when_it_brings_text_or_links() -> None:
    links = frozenset({"http://t.test/a", "http://t.test/b"})
    more = links | {"http://t.test/c", "http://t.test/d", "http://t.test/e"}
    assert adds(PageShape(0, frozenset()), PageShape(900, frozenset()))
    assert adds(PageShape(50, frozenset()), PageShape(50, frozenset({"http://t.test/a"})))
    assert adds(PageShape(5000, links), PageShape(5000, more))
    assert not adds(PageShape(5000, links), PageShape(5300, links))  # a banner's worth
    assert not adds(PageShape(5000, links), PageShape(5000, links | {"http://t.test/c"}))


def test_a_probe_that_could_not_go_leaves_its_place() -> None:
    auto = policy(probe=1)
    probe = auto.decide(result("http://s.test/1"))
    auto.forgo("http://s.test/1", probe)
    assert auto.decide(result("http://s.test/2")).probe


def test_only_the_hosts_decided_last_are_remembered() -> None:
    auto = RenderPolicy(RenderSettings(mode="auto", sample=1), detect=flags_shells, max_hosts=2)
    run(auto, result("http://a.test/", SHELL), added=False)  # a.test: static
    run(auto, result("http://b.test/", SHELL), added=False)
    assert auto.verdict("http://a.test/") == "static"
    run(auto, result("http://a.test/2"), added=None)  # a.test decided again: the most recent
    run(auto, result("http://c.test/", SHELL), added=False)  # b.test, the oldest, forgotten
    assert auto.verdict("http://a.test/") == "static"
    assert auto.verdict("http://b.test/") == "learning"
    assert run(auto, result("http://b.test/2", SHELL), added=True) == (True, "empty_root")


def test_learning_stays_bounded_over_many_hosts() -> None:
    auto = policy()
    for n in range(30_000):
        auto.decide(result(f"http://h{n}.test/"))
    assert len(auto._hosts) == 10_000  # what the bound is about: what the policy holds

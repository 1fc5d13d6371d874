"""[[fetch.sites]]: headers, cookies and Basic credentials for one host or URL pattern, sent
there only (not after a redirect away), and never shown or archived."""

from __future__ import annotations

import base64

import pytest

from crawler.errors import ConfigError
from crawler.fetch import Fetcher
from crawler.jobfile import load_job
from crawler.models import FetchRequest
from crawler.settings import FetchSettings, build_settings
from crawler.settings.sites import SiteRule, Sites
from tests.support.routes import Reply, RouteServer, page

SECRET = "k3y-s3cret"


def settings(*sites: dict[str, object]) -> FetchSettings:
    return build_settings({"fetch": {"sites": list(sites), "retries": 0}}).fetch


async def fetch(fetcher: Fetcher, url: str):
    fetcher.address_guard.note_seed(url)  # a loopback crawl
    return await fetcher.fetch(FetchRequest(url))


async def test_a_sites_headers_cookies_and_credentials_go_to_it_and_nowhere_else():
    rule = {
        "host": "127.0.0.1",
        "headers": {"X-Api-Key": SECRET, "Accept-Language": "fr"},
        "cookies": {"session": SECRET, "theme": "dark"},
        "username": "me",
        "password": SECRET,
    }
    with RouteServer({"/": page("<p>other</p>")}, host="127.0.0.2") as other:
        away = Reply(302, headers={"Location": other.url("/")})
        routes = {"/a": page("<p>a</p>"), "/away": lambda _: away}
        with RouteServer(routes) as site:
            async with Fetcher(settings(rule), capture=True) as fetcher:
                result = await fetch(fetcher, site.url("/a"))
                moved = await fetch(fetcher, site.url("/away"))
            [(_, sent)] = site.request_headers[:1]
        assert result.status == 200
        assert sent["x-api-key"] == SECRET
        assert sent["accept-language"] == "fr"
        assert sent["cookie"] == f"session={SECRET}; theme=dark"
        token = base64.b64encode(f"me:{SECRET}".encode()).decode()
        assert sent["authorization"] == f"Basic {token}"
        assert moved.final_url == other.url("/")
        [(_, elsewhere)] = other.request_headers
    assert not {"x-api-key", "cookie", "authorization", "accept-language"} & set(elsewhere)
    archived = b"".join(exchange.request_head for exchange in result.exchanges)
    assert SECRET.encode() not in archived  # the WARC request record keeps none of them
    assert b"Accept-Language: fr" in archived


async def test_a_url_pattern_limits_a_rule_to_the_urls_it_matches():
    rule = {"match": r"/private/", "headers": {"X-Token": SECRET}}
    with RouteServer({"/private/a": page("<p>p</p>"), "/public": page("<p>o</p>")}) as site:
        async with Fetcher(settings(rule)) as fetcher:
            await fetch(fetcher, site.url("/private/a"))
            await fetch(fetcher, site.url("/public"))
    sent = dict(site.request_headers)
    assert sent["/private/a"]["x-token"] == SECRET
    assert "x-token" not in sent["/public"]


async def test_a_sites_cookies_go_with_the_cookies_it_set_itself_and_win_a_clash():
    rule = {"host": "127.0.0.1", "cookies": {"token": SECRET, "theme": "dark"}}
    login = Reply(body=b"<p>in</p>", headers={"Set-Cookie": "session=s1; Path=/"})
    routes = {
        "/login": lambda _: login,
        "/theme": lambda _: Reply(body=b"<p>t</p>", headers={"Set-Cookie": "theme=light"}),
        "/account": page("<p>account</p>"),
    }
    with RouteServer(routes) as site:
        async with Fetcher(settings(rule)) as fetcher:
            for path in ("/login", "/theme", "/account"):
                assert (await fetch(fetcher, site.url(path))).status == 200
    sent = dict(site.request_headers)
    cookies = sorted(sent["/account"]["cookie"].split("; "))
    # The session the site set is kept; its own theme cookie yields to the configured one.
    assert cookies == ["session=s1", "theme=dark", f"token={SECRET}"]


def test_subdomains_belong_to_a_host_rule_and_lookalikes_do_not():
    sites = Sites([SiteRule(host="example.org", headers={"X-A": "1"})])
    assert sites.extras("https://www.example.org/").headers == {"X-A": "1"}
    assert sites.extras("https://EXAMPLE.org:8443/x").headers == {"X-A": "1"}
    assert sites.extras("https://notexample.org/").headers == {}


def test_secrets_are_masked_wherever_settings_are_shown(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text(
        "seeds = ['http://example.org/']\n[[fetch.sites]]\nhost = 'example.org'\n"
        f"headers = {{ Authorization = 'Bearer {SECRET}', Accept-Language = 'fr' }}\n"
        f"cookies = {{ session = '{SECRET}' }}\nusername = 'me'\npassword = '{SECRET}'\n"
    )
    shown = load_job(job).effective_toml()
    assert SECRET not in shown
    assert 'Accept-Language = "fr"' in shown
    assert 'password = "***"' in shown


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"headers": {"X": "1"}}, "fetch.sites[0]: a site needs host or match"),
        ({"match": "(", "headers": {}}, "fetch.sites[0].match: not a valid regex"),
        ({"host": "a.example", "password": "p"}, "fetch.sites[0].password: a password needs"),
        ({"host": "a.example", "headers": {"Bad Name": "1"}}, "fetch.sites[0].headers: not a"),
    ],
)
def test_a_bad_rule_is_named_by_its_key(rule, message):
    with pytest.raises(ConfigError) as caught:
        build_settings({"fetch": {"sites": [rule]}})
    assert str(caught.value).startswith(message)
    assert "got" not in str(caught.value) or "match" in message  # no secret echoed

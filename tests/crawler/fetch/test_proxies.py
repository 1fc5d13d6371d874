"""Which proxy a request takes: the ``proxy`` setting, the environment as curl reads it, and
a proxy's password kept out of everything the crawl shows or saves."""

from __future__ import annotations

import json

import pytest

from crawler.archive.warc import _warcinfo
from crawler.errors import ConfigError
from crawler.fetch.proxies import NoProxy, Proxy, ProxyRoutes
from crawler.jobfile import load_job
from crawler.settings import FetchSettings, build_settings
from tests.support.cli import parcrawl

SECRET = "pr0xy-s3cret"


def routes(environ: dict[str, str], **settings: object) -> ProxyRoutes:
    return ProxyRoutes.from_settings(FetchSettings.model_validate(settings), environ)


def test_the_proxy_setting_takes_every_request_and_keeps_its_credentials_apart():
    found = routes({}, proxy=f"http://crawler:{SECRET}@proxy.example:3128")
    proxy = found.proxy_for("https", "example.org")
    assert proxy == Proxy("http://proxy.example:3128", ("crawler", SECRET))
    assert found.proxy_for("http", "example.org") == proxy


def test_environment_variables_by_scheme_lower_case_first_then_all_proxy():
    environ = {
        "http_proxy": "http://low:1",
        "HTTP_PROXY": "http://up:1",
        "ALL_PROXY": "proxy.example:8080",  # no scheme: http://, as curl reads it
    }
    found = routes(environ)
    assert found.proxy_for("http", "a.example") == Proxy("http://low:1")
    assert found.proxy_for("https", "a.example") == Proxy("http://proxy.example:8080")


def test_env_proxy_off_ignores_the_environment():
    assert not routes({"HTTPS_PROXY": "http://p:1"}, env_proxy=False)
    assert routes({}, env_proxy=True).proxy_for("http", "a.example") is None


@pytest.mark.parametrize(
    ("no_proxy", "host", "direct"),
    [
        ("example.org", "example.org", True),
        ("example.org", "www.example.org", True),
        (".example.org", "www.example.org", True),
        ("example.org", "notexample.org", False),
        ("example.org:8080", "example.org", True),
        ("10.0.0.0/8, 192.168.1.1", "10.1.2.3", True),
        ("10.0.0.0/8, 192.168.1.1", "192.168.1.1", True),
        ("10.0.0.0/8", "11.0.0.1", False),
        ("::1", "[::1]", True),
        ("*", "anything.example", True),
        ("", "example.org", False),
        ("EXAMPLE.org", "Example.ORG", True),
    ],
)
def test_no_proxy_matches_as_curl_does(no_proxy, host, direct):
    assert NoProxy(no_proxy).matches(host) is direct


def test_no_proxy_applies_to_the_proxy_setting_too():
    found = routes({"no_proxy": "intranet.example"}, proxy="http://p:1")
    assert found.proxy_for("http", "wiki.intranet.example") is None
    assert found.proxy_for("http", "example.org") is not None


def test_a_socks_or_broken_proxy_is_one_line_naming_where_it_came_from():
    with pytest.raises(ConfigError, match=r"^ALL_PROXY: not an http\(s\) proxy URL: .*"):
        routes({"ALL_PROXY": f"socks5://u:{SECRET}@h:1"})
    with pytest.raises(ConfigError) as caught:
        build_settings({"fetch": {"proxy": f"socks5://u:{SECRET}@h:1"}})
    assert "fetch.proxy" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_bad_proxy_in_the_environment_is_refused_before_the_crawl_starts(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "ALL_PROXY": f"socks5://u:{SECRET}@h:1"}
    result = parcrawl("crawl", "http://127.0.0.1:9/", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "ALL_PROXY: not an http(s) proxy URL" in result.stderr
    assert "fetch.env_proxy = false" in result.stderr
    assert SECRET not in result.stderr


def test_the_proxy_password_is_masked_wherever_settings_are_shown(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text(
        f"seeds = ['http://example.org/']\n[fetch]\nproxy = 'http://me:{SECRET}@p:3128'\n"
    )
    loaded = load_job(job)
    assert loaded.settings.fetch.proxy == f"http://me:{SECRET}@p:3128"  # used as given
    shown = loaded.effective_toml()
    assert 'proxy = "http://me:***@p:3128"' in shown
    info = _warcinfo(loaded.settings)
    assert SECRET not in json.dumps(info)
    assert "http://me:***@p:3128" in info["parcrawl-settings"]

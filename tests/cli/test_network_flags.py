"""The network flags: --proxy, --no-env-proxy, --ca-bundle, --insecure, --http2,
--strip-params and --autothrottle/--no-autothrottle set their settings over a job file's,
and a crawl goes through the proxy."""

from __future__ import annotations

import json
import os
import tomllib

import pytest

from crawler.api import make_settings
from tests.support.cli import parcrawl
from tests.support.proxy import TinyProxy
from tests.support.routes import RouteServer, page

SECRET = "fl4g-s3cret"


def test_the_network_flags_set_their_settings_and_check_shows_them(tmp_path):
    ca = tmp_path / "ca.pem"
    job = tmp_path / "job.toml"
    job.write_text("seeds = ['https://example.org/']\n[fetch]\nstrip_params = ['x']\n")
    result = parcrawl(
        "check", str(job),
        "--proxy", f"http://me:{SECRET}@proxy.example:3128",
        "--no-env-proxy", "--ca-bundle", str(ca), "--insecure", "--http2",
        "--strip-params", "utm_*", "--strip-params", "fbclid",
    )  # fmt: skip
    # a CA file that does not exist is refused before anything starts
    assert result.returncode == 2
    assert result.stderr == f"parcrawl: error: {job}: fetch.ca_bundle: no such file: {ca}\n"
    result = parcrawl(
        "check", str(job),
        "--proxy", f"http://me:{SECRET}@proxy.example:3128",
        "--no-env-proxy", "--insecure", "--http2",
        "--strip-params", "utm_*", "--strip-params", "fbclid",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    fetch = tomllib.loads(result.stdout)["fetch"]
    assert fetch["proxy"] == "http://me:***@proxy.example:3128"
    assert (fetch["env_proxy"], fetch["insecure"], fetch["http2"]) == (False, True, True)
    assert fetch["strip_params"] == ["utm_*", "fbclid"]  # the flags replace the file's list
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.slow
def test_the_autothrottle_is_on_by_default_and_a_job_file_or_a_flag_turns_it(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text("seeds = ['https://example.org/']\n")
    off = tmp_path / "off.toml"
    off.write_text("seeds = ['https://example.org/']\n[fetch]\nautothrottle = false\n")

    def autothrottle(*args: str) -> bool:
        result = parcrawl("check", *args)
        assert result.returncode == 0, result.stderr
        value: bool = tomllib.loads(result.stdout)["fetch"]["autothrottle"]
        return value

    assert autothrottle(str(job)) is True
    assert autothrottle(str(off)) is False
    assert autothrottle(str(off), "--autothrottle") is True  # the flag over the file
    assert autothrottle(str(job), "--no-autothrottle") is False
    assert make_settings(fetch={"autothrottle": False}).fetch.autothrottle is False  # the API


def test_a_bad_proxy_flag_is_one_line_and_exit_2():
    result = parcrawl("crawl", "http://127.0.0.1:9/", "--proxy", f"socks5://me:{SECRET}@h:1")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "fetch.proxy: not a proxy URL: 'socks5://me:***@h:1'" in result.stderr
    assert SECRET not in result.stderr


def test_a_crawl_through_the_proxy_flag_with_parameters_stripped(tmp_path):
    routes = {"/": page('<a href="/a?utm_source=x">a</a>'), "/a": page("<title>A</title>")}
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    with RouteServer(routes) as site, TinyProxy(tmp_path) as proxy:
        result = parcrawl(
            "crawl", site.url("/?utm_medium=y"), "--follow", "-w", "0", "-o", "-",
            "--proxy", proxy.url, "--strip-params", "utm_*",
            env=env,
        )  # fmt: skip
        seen = proxy.requests()
    assert result.returncode == 0, result.stderr
    urls = sorted(json.loads(line)["url"] for line in result.stdout.splitlines())
    assert urls == [site.url("/"), site.url("/a")]
    assert sorted(seen) == sorted(f"GET {site.url(path)}" for path in ("/", "/a", "/robots.txt"))


def test_no_env_proxy_ignores_the_environments_proxy(tmp_path):
    with RouteServer({"/": page("<title>home</title>")}) as site, TinyProxy(tmp_path) as proxy:
        env = {**os.environ, "HTTP_PROXY": proxy.url}
        result = parcrawl("crawl", site.url("/"), "-w", "0", "-o", "-", "--no-env-proxy", env=env)
        seen = proxy.requests()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["title"] == "home"
    assert seen == []

"""TLS against a loopback HTTPS server with certificates made by the test: a CA trusted
through ``ca_bundle`` or the environment, ``insecure``, and failures named as a user would
(unknown issuer, wrong host, expired); https through a real proxy's tunnel."""

from __future__ import annotations

import logging
import os

import pytest

from tests.support.cli import parcrawl
from tests.support.crawling import run_crawl
from tests.support.proxy import TinyProxy
from tests.support.tls import TestCA, TlsServer

pytestmark = pytest.mark.slow


@pytest.fixture
def ca(tmp_path, monkeypatch):
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return TestCA(tmp_path)


def tls_error(records) -> str:
    [record] = records
    assert record["error"]["code"] == "tls", record["error"]
    return record["error"]["message"]


async def test_a_server_whose_ca_is_in_ca_bundle_is_crawled(ca):
    with TlsServer(ca.issue("good")) as server:
        records, _ = await run_crawl(
            [server.url("/")], workers=0, follow=True, fetch={"ca_bundle": str(ca.pem)}
        )
    assert sorted(record["url"] for record in records) == [server.url("/"), server.url("/next")]
    assert {record["status"] for record in records} == {200}
    assert {record["title"] for record in records} == {"secure"}


async def test_an_unknown_issuer_is_named(ca):
    with TlsServer(ca.issue("good")) as server:
        records, _ = await run_crawl([server.url("/")], workers=0)
    assert "TLS: certificate unknown issuer (" in tls_error(records)
    assert server.requests == []


async def test_a_certificate_for_another_host_is_named(ca):
    with TlsServer(ca.issue("other", ("www.example.org",))) as server:
        records, _ = await run_crawl([server.url("/")], workers=0, fetch={"ca_bundle": str(ca.pem)})
    assert "TLS: certificate wrong host (" in tls_error(records)


async def test_an_expired_certificate_is_named(ca):
    with TlsServer(ca.issue("old", expired=True)) as server:
        records, _ = await run_crawl([server.url("/")], workers=0, fetch={"ca_bundle": str(ca.pem)})
    message = tls_error(records)
    assert "TLS: certificate expired (certificate has expired)" in message
    assert "expired" in message


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
async def test_the_environments_ca_file_is_trusted_when_ca_bundle_is_not_set(
    ca, monkeypatch, variable
):
    monkeypatch.setenv(variable, str(ca.pem))
    with TlsServer(ca.issue("good")) as server:
        records, _ = await run_crawl([server.url("/")], workers=0)
    assert records[0]["status"] == 200


async def test_insecure_fetches_anyway_and_warns_once(ca, caplog):
    caplog.set_level(logging.WARNING)
    with TlsServer(ca.issue("old", expired=True)) as server:
        records, _ = await run_crawl(
            [server.url("/")], workers=0, follow=True, fetch={"insecure": True}
        )
    assert {record["status"] for record in records} == {200}
    assert len(records) == 2
    warnings = [r.getMessage() for r in caplog.records if "not verified" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].startswith("TLS certificates are not verified (fetch.insecure)")


async def test_https_goes_through_a_proxys_tunnel(ca, tmp_path):
    with TlsServer(ca.issue("good")) as server, TinyProxy(tmp_path) as proxy:
        records, _ = await run_crawl(
            [server.url("/")],
            workers=0,
            fetch={"ca_bundle": str(ca.pem), "proxy": proxy.url},
        )
        seen = proxy.requests()
    assert records[0]["status"] == 200
    port = server.url("/").split(":")[2].split("/")[0]
    assert seen
    assert set(seen) == {f"CONNECT 127.0.0.1:{port}"}  # the pages stay encrypted


def test_a_ca_bundle_that_is_no_file_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "nowhere.pem"
    env = {**os.environ, "SSL_CERT_FILE": str(missing)}
    result = parcrawl("crawl", "https://127.0.0.1:9/", "-o", "-", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr == f"parcrawl: error: SSL_CERT_FILE: no such file: {missing}\n"
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    job = tmp_path / "job.toml"
    job.write_text(f"seeds = ['https://127.0.0.1:9/']\n[fetch]\nca_bundle = '{junk}'\n")
    result = parcrawl("check", str(job), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"parcrawl: error: {job}: fetch.ca_bundle: not a PEM file")
    assert result.stderr.count("\n") == 1

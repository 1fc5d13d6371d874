"""Tests for crawler.admission.addresses: which addresses a crawl may reach, from which seeds."""

from __future__ import annotations

import httpcore
import pytest

from crawler.admission import AddressGuard, is_private


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.1.1", "0.0.0.0", "::1", "fe80::1%eth0"],
)
def test_loopback_private_and_link_local_addresses_are_private(address: str) -> None:
    assert is_private(address)


def test_an_ipv4_mapped_private_address_is_private_and_a_public_one_is_not() -> None:
    assert is_private("::ffff:10.0.0.1")
    assert not is_private("::ffff:93.184.216.34")
    assert not is_private("93.184.216.34")
    assert not is_private("not-an-address")


def test_a_public_crawl_refuses_private_hosts_by_name_and_by_address() -> None:
    guard = AddressGuard()
    guard.note_seed("https://example.org/")
    assert guard.refusal("https://example.org/page") is None
    refusal = guard.refusal("http://127.0.0.1:8080/admin")
    assert refusal is not None
    assert "private address" in refusal
    assert guard.refusal("http://localhost/") is not None


def test_a_private_seed_lets_the_crawl_stay_where_it_began() -> None:
    guard = AddressGuard()
    guard.note_seed("http://127.0.0.1:8000/")
    assert guard.refusal("http://10.0.0.5/") is None


def test_allow_private_lets_everything_through() -> None:
    assert AddressGuard(allow_private=True).refusal("http://192.168.1.1/") is None


def test_a_public_host_connects_to_its_first_public_address() -> None:
    guard = AddressGuard()
    assert guard.pick("example.org", ["10.0.0.1", "93.184.216.34"]) == "93.184.216.34"


def test_a_public_name_resolving_only_to_private_addresses_is_refused() -> None:
    guard = AddressGuard()
    with pytest.raises(httpcore.ConnectError, match="private address"):
        guard.pick("sneaky.example", ["127.0.0.1"])
    with pytest.raises(httpcore.ConnectError, match="no address"):
        guard.pick("nowhere.example", [])


def test_a_seed_name_resolving_to_a_private_address_makes_the_crawl_private() -> None:
    guard = AddressGuard()
    guard.note_seed("http://intranet.example/")
    assert guard.pick("intranet.example", ["10.0.0.7"]) == "10.0.0.7"
    assert guard.refusal("http://10.0.0.8/") is None

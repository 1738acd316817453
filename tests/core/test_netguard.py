"""The guard refuses every spelling of a non-public address, and only those."""

from __future__ import annotations

import ipaddress

import pytest

from core.netguard import ForbiddenTarget, check_url, non_public_reason, parse_address

FORBIDDEN = [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.0.0.2:8080/x", "loopback"),
    ("http://localhost/", "loopback"),
    ("http://LOCALHOST./", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://127.0.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0x7f.0x0.0x0.0x1/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://127.0.0.1./", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://[::127.0.0.1]/", "loopback"),
    ("http://[64:ff9b::7f00:1]/", "loopback"),
    ("http://[2002:7f00:1::]/", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
    ("http://0xa9fea9fe/", "cloud metadata"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://3232235777/", "private"),
    ("http://[fc00::1]/", "private"),
    ("http://100.64.0.1/", "non-public"),
    ("http://169.254.1.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("https://user:pass@127.0.0.1:443/", "loopback"),
]


@pytest.mark.parametrize(("url", "reason"), FORBIDDEN)
def test_non_public_addresses_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ForbiddenTarget) as refused:
        check_url(url, ())
    assert reason in str(refused.value)
    assert "SPACES_CRAWL_ALLOW" in str(refused.value)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.org/", "gopher://x/", "javascript:alert(1)", "data:,x"],
)
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(ForbiddenTarget, match="only http and https"):
        check_url(url, ())


@pytest.mark.parametrize(
    "url",
    ["http://", "http:///path", "http://[::1/", "http://example.org:99999/", "http://256.1.1.1/"],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ForbiddenTarget):
        check_url(url, ())


@pytest.mark.parametrize(
    "url", ["http://93.184.215.14/", "https://[2606:4700::1111]/", "http://8.8.8.8:8080/a"]
)
def test_public_addresses_pass(url: str) -> None:
    check_url(url, ())


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(ForbiddenTarget, match="cannot resolve"):
        check_url("http://no-such-host.invalid/", ())


def test_allow_list_takes_hosts_and_networks() -> None:
    check_url("http://127.0.0.1:8000/", ["127.0.0.1"])
    check_url("http://127.0.0.5/", ["127.0.0.0/29"])
    check_url("http://localhost/", ["LocalHost"])
    check_url("http://10.1.2.3/", ["10.0.0.0/8"])
    check_url("http://[fd00::5]/", ["fd00::/8"])
    with pytest.raises(ForbiddenTarget):
        check_url("http://127.0.0.2/", ["127.0.0.1"])
    with pytest.raises(ForbiddenTarget):
        check_url("http://127.0.0.9/", ["127.0.0.0/29"])
    # Allowing a network does not allow a different scheme.
    with pytest.raises(ForbiddenTarget):
        check_url("file://127.0.0.1/etc/passwd", ["127.0.0.1"])


def test_inet_aton_spellings_parse_like_a_resolver_would() -> None:
    assert parse_address("127.1") == ipaddress.ip_address("127.0.0.1")
    assert parse_address("10.1.256") == ipaddress.ip_address("10.1.1.0")
    assert parse_address("0x0a.0.0.012") == ipaddress.ip_address("10.0.0.10")
    assert parse_address("example.org") is None
    assert parse_address("1e100.net") is None


def test_public_addresses_have_no_reason() -> None:
    assert non_public_reason(ipaddress.ip_address("8.8.8.8")) == ""
    assert non_public_reason(ipaddress.ip_address("::ffff:8.8.8.8")) == ""
    assert non_public_reason(ipaddress.ip_address("2606:4700::1111")) == ""

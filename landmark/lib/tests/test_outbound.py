"""The SSRF guard (landmark/lib/outbound.py), through real sockets: web servers on
loopback addresses stand in for an internal service an attacker wants to reach, and
a DNS server on loopback gives the answers (changing ones too). Only loopback
addresses are ever connected to; the other private and metadata ranges are checked
by the address rule itself, which every request goes through."""

import gzip
import ipaddress
from collections.abc import Iterator
from functools import partial

import pytest
import requests

from landmark.lib import outbound
from landmark.lib.tests.loopback import (
    DNSServer,
    WebServer,
    self_signed_certificate,
    send,
)


@pytest.fixture
def dns_server(settings) -> Iterator[DNSServer]:
    server = DNSServer()
    with server.running():
        settings.OUTBOUND_NAMESERVERS = [server.address]
        yield server


@pytest.fixture
def web() -> Iterator[WebServer]:
    with WebServer().running() as server:
        server.routes["/"] = lambda h: send(h, b'{"secret": "internal"}')
        yield server


@pytest.fixture
def guard(settings):
    """Production-like rules: nothing private is allowed."""
    settings.OUTBOUND_ALLOWED_HOSTS = []
    settings.OUTBOUND_HTTPS_ONLY = False
    settings.OUTBOUND_TIMEOUT = 2
    return settings


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # AWS, GCP and Azure instance metadata
        "100.100.100.200",  # Alibaba Cloud metadata (shared address space)
        "100.64.0.1",
        "192.0.0.192",  # Oracle Cloud metadata
        "168.63.129.16",  # Azure platform endpoint
        "0.0.0.0",  # noqa: S104  # an address to classify, not one to bind
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:db8::1",
    ],
)
def test_private_local_reserved_and_metadata_addresses_are_not_public(address):
    assert not outbound.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_public(address):
    assert outbound.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::ffff:127.0.0.1]",
        "2130706433",  # 127.0.0.1 written as one number
        "0x7f.1",  # and in hexadecimal
        "localhost",  # the system's resolver (/etc/hosts)
    ],
)
def test_a_loopback_address_is_refused_however_it_is_written(guard, web, host):
    with pytest.raises(outbound.Refused, match="private, local or reserved"):
        outbound.request("GET", f"http://{host}:{web.port}/")

    assert web.hits == []


def test_a_name_that_resolves_to_loopback_is_refused(guard, web, dns_server):
    dns_server.answers["idp.example.test"] = [["127.0.0.1"]]

    with pytest.raises(outbound.Refused, match=r"idp\.example\.test"):
        outbound.request("GET", web.url("idp.example.test"))

    assert web.hits == []
    assert dns_server.queries["idp.example.test"] == 1


def test_a_name_with_one_private_address_among_public_ones_is_refused(
    guard, web, dns_server
):
    dns_server.answers["mixed.example.test"] = [["8.8.8.8", "127.0.0.1"]]

    with pytest.raises(outbound.Refused):
        outbound.request("GET", web.url("mixed.example.test"))

    assert web.hits == []


def test_an_allowed_host_name_may_be_private(guard, web, dns_server):
    dns_server.answers["sso.corp.test"] = [["127.0.0.1"]]
    dns_server.answers["other.corp.test"] = [["127.0.0.1"]]
    guard.OUTBOUND_ALLOWED_HOSTS = ["SSO.corp.test."]

    response = outbound.request("GET", web.url("sso.corp.test"))

    assert response.status_code == 200
    assert response.json() == {"secret": "internal"}
    # The server was asked for the host by its name, on the address that was checked.
    assert web.hits == [("/", f"sso.corp.test:{web.port}", b"")]
    with pytest.raises(outbound.Refused):
        outbound.request("GET", web.url("other.corp.test"))
    assert len(web.hits) == 1


def test_an_allowed_network_lets_its_addresses_through(guard, web, dns_server):
    dns_server.answers["a.corp.test"] = [["127.0.0.1"]]
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.0/8"]

    assert outbound.request("GET", web.url("a.corp.test")).status_code == 200
    assert outbound.request("GET", web.url("127.0.0.1")).status_code == 200

    guard.OUTBOUND_ALLOWED_HOSTS = ["10.0.0.0/8"]
    with pytest.raises(outbound.Refused):
        outbound.request("GET", web.url("a.corp.test"))


def test_a_redirect_to_a_private_address_is_refused(guard, dns_server):
    guard.OUTBOUND_ALLOWED_HOSTS = ["allowed.test"]
    dns_server.answers["allowed.test"] = [["127.0.0.1"]]
    dns_server.answers["internal.test"] = [["127.0.0.1"]]
    with WebServer().running() as inside, WebServer().running() as outside:
        inside.routes["/"] = lambda h: send(h, b'{"secret": "internal"}')
        targets = [inside.url("internal.test"), inside.url("127.0.0.1")]
        for target in targets:
            outside.routes["/"] = partial(
                send, body=b"", status=302, headers={"Location": target}
            )

            with pytest.raises(outbound.Refused):
                outbound.request("GET", outside.url("allowed.test"))

        assert len(outside.hits) == 2
        assert inside.hits == []


def test_redirects_are_followed_a_few_times_only(guard, web):
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    guard.OUTBOUND_MAX_REDIRECTS = 2
    web.routes["/loop"] = lambda h: send(
        h, b"", status=302, headers={"Location": "/loop"}
    )
    web.routes["/hop"] = lambda h: send(h, b"", status=302, headers={"Location": "/"})

    assert outbound.request("GET", web.url("127.0.0.1", "/hop")).json() == {
        "secret": "internal"
    }
    with pytest.raises(requests.TooManyRedirects):
        outbound.request("GET", web.url("127.0.0.1", "/loop"))
    assert [hit[0] for hit in web.hits].count("/loop") == 3


def test_a_dns_answer_that_changes_after_the_check_cannot_reach_a_private_address(
    guard, dns_server
):
    """DNS rebinding: the attacker's name first resolves to an address that passes,
    then to the internal one. 127.0.0.2 stands for the public address that passes (it
    is allowed here); 127.0.0.1 is the internal service on the same port. A guard that
    checked one lookup and let the connection look the name up again would connect to
    127.0.0.1."""
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.2"]
    passing = WebServer("127.0.0.2")
    with passing.running(), WebServer("127.0.0.1", passing.port).running() as internal:
        passing.routes["/"] = lambda h: send(h, b'{"from": "the checked address"}')
        internal.routes["/"] = lambda h: send(h, b'{"secret": "internal"}')
        dns_server.answers["rebind.test"] = [["127.0.0.2"], ["127.0.0.1"]]

        first = outbound.request("GET", passing.url("rebind.test"))

        assert first.json() == {"from": "the checked address"}
        assert dns_server.queries["rebind.test"] == 1  # looked up once, pinned
        # The next request looks again, sees the internal address and refuses.
        with pytest.raises(outbound.Refused):
            outbound.request("GET", passing.url("rebind.test"))
        assert internal.hits == []
        assert len(passing.hits) == 1


def test_http_is_refused_when_https_is_required(guard, web):
    guard.OUTBOUND_HTTPS_ONLY = True
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]

    with pytest.raises(outbound.Refused, match="must start with https://"):
        outbound.request("GET", web.url("127.0.0.1"))
    with pytest.raises(outbound.Refused, match="must start with https://"):
        outbound.check_url("http://login.example.com/")
    assert web.hits == []


def test_tls_is_verified_for_the_host_name_while_connecting_to_the_checked_address(
    guard, dns_server, tmp_path
):
    guard.OUTBOUND_HTTPS_ONLY = True
    guard.OUTBOUND_ALLOWED_HOSTS = ["idp.test", "wrong-name.test"]
    dns_server.answers["idp.test"] = [["127.0.0.1"]]
    dns_server.answers["wrong-name.test"] = [["127.0.0.1"]]
    cert, key = self_signed_certificate(tmp_path, "idp.test")
    server = WebServer()
    server.use_tls(cert, key)
    with server.running(), WebServer().running() as plain:
        plain.routes["/"] = lambda h: send(h, b'{"plain": true}')
        server.routes["/"] = lambda h: send(h, b'{"tls": true}')
        server.routes["/down"] = lambda h: send(
            h, b"", status=302, headers={"Location": plain.url("idp.test")}
        )
        with outbound.session() as guarded:
            guarded.verify = cert

            assert guarded.get(server.url("idp.test")).json() == {"tls": True}
            with pytest.raises(requests.exceptions.SSLError):
                guarded.get(server.url("wrong-name.test"))
            with pytest.raises(outbound.Refused, match="https://"):
                guarded.get(server.url("idp.test", "/down"))
        assert plain.hits == []


def test_a_server_that_does_not_answer_times_out(guard, web):
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    guard.OUTBOUND_TIMEOUT = 0.3
    web.routes["/stall"] = lambda h: web.release.wait(5)

    with pytest.raises(requests.Timeout):
        outbound.request("GET", web.url("127.0.0.1", "/stall"))


def test_a_body_that_trickles_in_is_cut_at_the_timeout(guard, web):
    """Each byte comes before the read timeout, so only a deadline on the whole body
    stops it; it would take 4 s to arrive, the deadline is 0.5 s."""
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    guard.OUTBOUND_TIMEOUT = 0.5
    sent: list[int] = []

    def trickle(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "40")
        handler.end_headers()
        for _ in range(40):
            if web.release.wait(0.1):
                return
            try:
                handler.wfile.write(b"x")
                handler.wfile.flush()
            except OSError:
                return
            sent.append(1)

    web.routes["/trickle"] = trickle

    with pytest.raises(requests.Timeout):
        outbound.request("GET", web.url("127.0.0.1", "/trickle"))
    assert len(sent) < 40


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_over_the_size_cap_is_refused(guard, web, declared):
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    guard.OUTBOUND_MAX_BYTES = 1000
    big = b"x" * 5000

    def answer(handler) -> None:
        handler.send_response(200)
        if declared:
            handler.send_header("Content-Length", str(len(big)))
        handler.end_headers()
        handler.wfile.write(big)  # no length: the body ends when the server closes
        handler.close_connection = True

    web.routes["/big"] = answer
    web.routes["/small"] = lambda h: send(h, b"y" * 1000)

    with pytest.raises(outbound.Refused, match="more than 1,000 bytes"):
        outbound.request("GET", web.url("127.0.0.1", "/big"))
    assert outbound.request("GET", web.url("127.0.0.1", "/small")).content == (
        b"y" * 1000
    )


@pytest.mark.parametrize("length", ["9" * 5000, "²"], ids=["5000-digits", "unicode"])
def test_an_absurd_content_length_is_refused_or_read_not_a_crash(guard, web, length):
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    guard.OUTBOUND_MAX_BYTES = 1000

    def answer(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", length)
        handler.end_headers()
        handler.wfile.write(b"z" * 10)
        handler.close_connection = True

    web.routes["/odd"] = answer

    # The announced length is over any cap (a refusal naming it); a length that is
    # no number is left to requests, which reads the body as it comes.
    if length.isascii():
        with pytest.raises(outbound.Refused, match="more than 1,000 bytes"):
            outbound.request("GET", web.url("127.0.0.1", "/odd"))
    else:
        body = outbound.request("GET", web.url("127.0.0.1", "/odd")).content
        assert body == b"z" * 10


def test_a_compressed_body_is_capped_by_its_decompressed_size(guard, web):
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    guard.OUTBOUND_MAX_BYTES = 100_000
    bomb = gzip.compress(b"\0" * 10_000_000)  # 10 MB in about 10 kB
    web.routes["/bomb"] = lambda h: send(h, bomb, headers={"Content-Encoding": "gzip"})
    fine = gzip.compress(b'{"ok": true}')
    web.routes["/fine"] = lambda h: send(h, fine, headers={"Content-Encoding": "gzip"})

    with pytest.raises(outbound.Refused, match="more than 100,000 bytes"):
        outbound.request("GET", web.url("127.0.0.1", "/bomb"))
    assert outbound.request("GET", web.url("127.0.0.1", "/fine")).json() == {"ok": True}


def test_a_post_reaches_an_allowed_host_with_its_body(guard, web):
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    web.routes["/token"] = lambda h: send(h, b'{"access_token": "t"}')

    response = outbound.request(
        "POST", web.url("127.0.0.1", "/token"), data={"code": "c-1"}
    )

    assert response.json() == {"access_token": "t"}
    assert web.hits == [("/token", f"127.0.0.1:{web.port}", b"code=c-1")]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://login.example.com/", "must start with https:// or http://"),
        ("file:///etc/passwd", "must start with https:// or http://"),
        ("https:///path", "no host name"),
        ("http://169.254.169.254/latest/meta-data/", "private, local or reserved"),
        ("http://[fd00:ec2::254]/", "private, local or reserved"),
        ("http://[::ffff:a9fe:a9fe]/", "private, local or reserved"),
    ],
)
def test_check_url_says_why_a_url_is_refused_before_anything_is_sent(
    guard, url, message
):
    with pytest.raises(outbound.Refused, match=message):
        outbound.check_url(url)


def test_check_url_lets_a_name_that_does_not_resolve_yet_pass(guard, dns_server):
    dns_server.answers["sso.acme.test"] = [["127.0.0.1"]]

    outbound.check_url("https://not-yet.acme.test/realms/acme")  # NXDOMAIN: passes
    with pytest.raises(outbound.Refused):
        outbound.check_url("https://sso.acme.test/realms/acme")


def test_the_guard_ignores_proxies_from_the_environment(guard, web, monkeypatch):
    """A proxy set in the environment would make the connection elsewhere than the
    checked address; the guard's session never reads it."""
    guard.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with WebServer().running() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url("127.0.0.1"))
        monkeypatch.setenv("NO_PROXY", "")

        assert outbound.request("GET", web.url("127.0.0.1")).status_code == 200

        assert proxy.hits == []

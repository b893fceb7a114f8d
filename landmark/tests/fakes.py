"""Stand-ins for the outside world that SSO tests talk to, on loopback only: an OpenID
Connect provider (HTTP) and a DNS server (UDP) answering TXT queries. Everything on
Landmark's side stays real: allauth's flow, our adapter, dnspython's resolver."""

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset
import pytest

from landmark.lib.domains import record_name, record_value
from landmark.orgs import actions
from landmark.orgs.models import Organization, OrganizationSSO, SSODomain


class FakeIdP:
    """What the provider says about the person who just signed in there."""

    def __init__(self) -> None:
        self.claims: dict[str, Any] = {}
        self.token_requests: list[dict[str, list[str]]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def answer(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self.answer(
                        {
                            "issuer": idp.url,
                            "authorization_endpoint": f"{idp.url}/authorize",
                            "token_endpoint": f"{idp.url}/token",
                            "userinfo_endpoint": f"{idp.url}/userinfo",
                            "jwks_uri": f"{idp.url}/jwks",
                            "token_endpoint_auth_methods_supported": [
                                "client_secret_post"
                            ],
                        }
                    )
                elif self.path == "/userinfo":
                    self.answer(idp.claims)
                elif self.path.startswith("/authorize?"):
                    # A browser arrives here: the person "signs in" at once and is
                    # sent back to Landmark's callback with a code and the state.
                    query = parse_qs(urlsplit(self.path).query)
                    back = (
                        query["redirect_uri"][0]
                        + "?"
                        + urlencode({"code": "code-1", "state": query["state"][0]})
                    )
                    self.send_response(302)
                    self.send_header("Location", back)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                idp.token_requests.append(form)
                self.answer(
                    {"access_token": "at-123", "token_type": "Bearer", "expires_in": 60}
                )

        return Handler


class FakeDNS:
    """A DNS server on 127.0.0.1 (UDP) that knows only the TXT records put in it,
    written with dnspython's message API; any other name is NXDOMAIN."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopped = threading.Event()

    def publish(self, domain: str, token: str) -> None:
        """What the domain's owner does at their DNS provider."""
        self.records.setdefault(record_name(domain), []).append(record_value(token))

    def withdraw(self, domain: str) -> None:
        self.records.pop(record_name(domain), None)

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        self.queries.append(name)
        values = self.records.get(name)
        if values is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.TXT:
            rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, dns.rdatatype.TXT)
            for value in values:
                rrset.add(
                    dns.rdtypes.ANY.TXT.TXT(
                        dns.rdataclass.IN, dns.rdatatype.TXT, [value.encode()]
                    ),
                    ttl=60,
                )
            response.answer.append(rrset)
        return bytes(response.to_wire())

    def serve(self) -> None:
        while not self.stopped.is_set():
            try:
                wire, client = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            self.sock.sendto(self.answer(wire), client)


@contextmanager
def running_idp() -> Iterator[FakeIdP]:
    """A provider that answers until the block ends."""
    fake = FakeIdP()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


@pytest.fixture
def idp() -> Iterator[FakeIdP]:
    with running_idp() as fake:
        yield fake


@pytest.fixture
def other_idp() -> Iterator[FakeIdP]:
    """A second organization's provider."""
    with running_idp() as fake:
        yield fake


@contextmanager
def running_dns() -> Iterator[FakeDNS]:
    """A DNS server that answers until the block ends."""
    fake = FakeDNS()
    thread = threading.Thread(target=fake.serve, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stopped.set()
        thread.join()
        fake.sock.close()


def dns_settings(fake: FakeDNS) -> dict[str, Any]:
    """The settings that make Landmark's domain checks ask `fake`."""
    return {
        "DOMAIN_VERIFICATION_NAMESERVERS": [fake.address],
        "DOMAIN_VERIFICATION_TIMEOUT": 2,
    }


@pytest.fixture
def dns_server(settings) -> Iterator[FakeDNS]:
    """Landmark's domain checks ask this server (DOMAIN_VERIFICATION_NAMESERVERS)."""
    with running_dns() as fake:
        for name, value in dns_settings(fake).items():
            setattr(settings, name, value)
        yield fake


def proven(config: OrganizationSSO) -> OrganizationSSO:
    """The organization's claimed domains, recorded as proven by a DNS check (for tests
    about something else than the proof; test_sso_domains.py drives the real check)."""
    org: Organization = config.organization
    rows = SSODomain.objects.filter(sso=config).values_list("pk", flat=True)
    actions.record_domain_checks(org=org, found=dict.fromkeys(rows, True))
    return config

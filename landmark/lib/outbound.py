"""The one way Landmark sends HTTP requests to a URL that an organization chose: an
SSO issuer and the endpoints its discovery document names today, webhooks and KPI
connectors tomorrow. It is the guard against server-side request forgery (SSRF).

For every request and every redirect hop:

- the scheme is https (plain http too, unless OUTBOUND_HTTPS_ONLY, which HTTPS=1
  turns on);
- the host name is resolved once, here, and every address it resolves to must be a
  public one: no loopback, private, link-local (cloud metadata), shared (CGNAT),
  multicast, reserved or unspecified address, IPv4 or IPv6, IPv4-mapped included,
  unless the host name or the address is listed in OUTBOUND_ALLOWED_HOSTS;
- the connection goes to the address that was checked, not to a second lookup of the
  name, so a DNS answer that changes between the check and the connection (DNS
  rebinding) gains nothing; TLS still verifies the certificate for the host name;
- every wait is at most OUTBOUND_TIMEOUT seconds and the body must arrive within it;
  a body is at most OUTBOUND_MAX_BYTES (decompressed); at most OUTBOUND_MAX_REDIRECTS
  redirects; proxies and credentials from the environment (.netrc) are not used.

Built on requests' public adapter hook (`build_connection_pool_key_attributes`), as
requests-hardened does, with an allow-list and a configurable resolver on top.
"""

import io
import ipaddress
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import dns.exception
import dns.nameserver
import dns.resolver
import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

logger = logging.getLogger("landmark.outbound")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges that Python's ipaddress still calls global but that reach inside a network,
# or tunnel to an IPv4 address that would not be checked.
BLOCKED_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "100.64.0.0/10",  # shared address space (CGNAT); Alibaba Cloud's metadata
        "192.0.0.0/24",  # IETF protocol assignments; Oracle Cloud's metadata
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking networks
        "168.63.129.16/32",  # Azure's platform endpoint (a public-looking internal one)
        "64:ff9b::/96",  # NAT64: an IPv4 address inside an IPv6 one
        "64:ff9b:1::/48",  # local-use NAT64
        "2001::/32",  # Teredo: tunnels to an IPv4 address
        "2001:20::/28",  # ORCHIDv2
        "2002::/16",  # 6to4: tunnels to an IPv4 address
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing
    )
)
CHUNK = 64 * 1024


class Refused(requests.RequestException):
    """The guard will not send this request; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unresolvable(requests.ConnectionError):
    """The host name has no address (or DNS did not answer)."""


@dataclass(frozen=True)
class Policy:
    """The outbound rules in force, read from the settings at each request (so an
    operator's environment and the tests' settings both apply at once)."""

    https_only: bool
    allowed_names: frozenset[str]
    allowed_networks: tuple[Network, ...]
    nameservers: tuple[str, ...]
    timeout: float
    max_bytes: int
    max_redirects: int

    @classmethod
    def current(cls, allowed_hosts: Sequence[str] | None = None) -> "Policy":
        """`allowed_hosts`: the private hosts this caller may reach, instead of
        OUTBOUND_ALLOWED_HOSTS (KPI connectors have their own operator list,
        CONNECTOR_ALLOWED_HOSTS)."""
        names: set[str] = set()
        networks: list[Network] = []
        allowed = (
            getattr(settings, "OUTBOUND_ALLOWED_HOSTS", [])
            if allowed_hosts is None
            else allowed_hosts
        )
        for entry in allowed:
            entry = entry.strip().lower().strip("[]").rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry)
        return cls(
            https_only=bool(getattr(settings, "OUTBOUND_HTTPS_ONLY", False)),
            allowed_names=frozenset(names),
            allowed_networks=tuple(networks),
            nameservers=tuple(getattr(settings, "OUTBOUND_NAMESERVERS", [])),
            timeout=float(getattr(settings, "OUTBOUND_TIMEOUT", 5)),
            max_bytes=int(getattr(settings, "OUTBOUND_MAX_BYTES", 1_000_000)),
            max_redirects=int(getattr(settings, "OUTBOUND_MAX_REDIRECTS", 3)),
        )

    def allows(self, host: str, address: Address) -> bool:
        if is_public(address) or normal_host(host) in self.allowed_names:
            return True
        plain = unmapped(address)
        return any(
            a in net
            for net in self.allowed_networks
            for a in {address, plain}
            if a.version == net.version
        )


def normal_host(host: str) -> str:
    return host.strip().lower().strip("[]").rstrip(".")


def unmapped(address: Address) -> Address:
    """::ffff:127.0.0.1 is 127.0.0.1: judge the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_public(address: Address) -> bool:
    """May Landmark connect to this address on an organization's behalf?"""
    address = unmapped(address)
    if (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    ):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return False
    return not any(
        address in net for net in BLOCKED_NETWORKS if net.version == address.version
    )


def parse_nameserver(entry: str) -> dns.nameserver.Do53Nameserver:
    """ "ip", "ip:port" or "[ipv6]:port", as in OUTBOUND_NAMESERVERS."""
    host, port = entry.strip(), 53
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        port = int(rest.lstrip(":") or 53)
    elif host.count(":") == 1:
        host, _, raw = host.partition(":")
        port = int(raw)
    return dns.nameserver.Do53Nameserver(host, port)


def resolve(host: str, port: int, policy: Policy) -> list[Address]:
    """Every address `host` has, IPv4 first: from OUTBOUND_NAMESERVERS when set
    (with dnspython), from the system's resolver otherwise."""
    host = normal_host(host)
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if policy.nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [parse_nameserver(e) for e in policy.nameservers]
        resolver.lifetime = policy.timeout
        found: list[Address] = []
        for rdtype in ("A", "AAAA"):
            try:
                answer = resolver.resolve(host, rdtype, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except dns.exception.DNSException as error:
                raise Unresolvable(f"DNS did not answer for {host}.") from error
            found += [ipaddress.ip_address(r.address) for r in answer]
    else:
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as error:
            raise Unresolvable(f"{host} does not resolve.") from error
        found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        found.sort(key=lambda a: a.version)
    if not found:
        raise Unresolvable(f"{host} does not resolve.")
    return list(dict.fromkeys(found))


def refusal_for_address(host: str) -> str:
    return (
        f"Landmark does not connect to {host}: it is a private, local or reserved "
        "address. (An operator can allow it with OUTBOUND_ALLOWED_HOSTS.)"
    )


def checked_address(host: str, port: int, policy: Policy) -> Address:
    """The one address to connect to, once every address of `host` passed."""
    addresses = resolve(host, port, policy)
    for address in addresses:
        if not policy.allows(host, address):
            logger.warning("Outbound request to %s (%s) refused.", host, address)
            raise Refused(refusal_for_address(host))
    return addresses[0]


def check_scheme(url: str, policy: Policy) -> tuple[str, str, int]:
    """The URL's host and port, once its scheme and host are acceptable."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    allowed = ("https",) if policy.https_only else ("https", "http")
    if scheme not in allowed:
        raise Refused(
            "The address must start with https://."
            if policy.https_only
            else "The address must start with https:// or http://."
        )
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise Refused("The address has an invalid port.") from error
    if not parts.hostname:
        raise Refused("The address has no host name.")
    return scheme, parts.hostname, port


def check_url(url: str, allowed_hosts: Sequence[str] | None = None) -> None:
    """Refuse (Refused) now what the guard would refuse when sending, so a form can
    say so next to its field. A host that does not resolve at the moment passes: it
    is checked again on every request."""
    policy = Policy.current(allowed_hosts)
    _, host, port = check_scheme(url, policy)
    try:
        checked_address(host, port, policy)
    except Unresolvable:
        return


class GuardedAdapter(HTTPAdapter):
    """Connects only to checked addresses, with the timeouts and the size cap."""

    def __init__(
        self, *args: Any, allowed_hosts: Sequence[str] | None = None, **kwargs: Any
    ):
        self.allowed_hosts = allowed_hosts
        super().__init__(*args, **kwargs)

    def build_connection_pool_key_attributes(
        self,
        request: requests.PreparedRequest,
        verify: Any,
        cert: Any = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        policy = Policy.current(self.allowed_hosts)
        scheme, host, port = check_scheme(str(request.url), policy)
        address = checked_address(host, port, policy)
        # The request still names the host: in its Host header, and for TLS in SNI
        # and in the certificate check. Only the socket goes to the checked address.
        # (A copy of the headers: a caller may share its dict between requests.)
        request.headers = CaseInsensitiveDict(request.headers or {})
        named = f"[{host}]" if ":" in host else host
        if host_params.get("port") is not None:
            named += f":{host_params['port']}"
        request.headers["Host"] = named
        if scheme == "https":
            pool_kwargs["assert_hostname"] = host
            pool_kwargs["server_hostname"] = host
        host_params["host"] = f"[{address}]" if address.version == 6 else str(address)
        return host_params, pool_kwargs

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        policy = Policy.current(self.allowed_hosts)
        check_scheme(str(request.url), policy)
        deadline = time.monotonic() + policy.timeout
        response = super().send(
            request,
            stream=True,
            timeout=(policy.timeout, policy.timeout),
            verify=verify,
            cert=cert,
            proxies=proxies,
        )
        try:
            body = read_capped(response, policy, deadline)
        finally:
            response.raw.release_conn()
        # The capped body stands in for the socket: requests reads `raw` for
        # .content, .text and .json() as usual.
        response.raw = io.BytesIO(body)
        return response


def read_capped(response: requests.Response, policy: Policy, deadline: float) -> bytes:
    host = urlsplit(str(response.url)).hostname
    too_big = Refused(
        f"{host} answered with more than {policy.max_bytes:,} bytes; Landmark stops "
        "reading there."
    )
    declared = response.headers.get("Content-Length", "")
    # A length too long to be a number Python converts is over any cap as well.
    announced_too_big = (
        declared.isascii()
        and declared.isdigit()
        and (len(declared) > 18 or int(declared) > policy.max_bytes)
    )
    if announced_too_big:
        response.raw.close()
        raise too_big
    body = bytearray()
    while chunk := read_some(response):
        body += chunk
        if len(body) > policy.max_bytes:
            response.raw.close()
            raise too_big
        if time.monotonic() > deadline:
            response.raw.close()
            raise requests.Timeout(
                f"{host} took more than {policy.timeout:g} s to answer."
            )
    return bytes(body)


def read_some(response: requests.Response) -> bytes:
    """What has arrived of the body (at most CHUNK bytes, decompressed), without
    waiting for a whole chunk: a server that trickles bytes meets the deadline."""
    try:
        return bytes(response.raw.read1(CHUNK, decode_content=True))
    except urllib3.exceptions.ReadTimeoutError as error:
        raise requests.ReadTimeout(error) from error
    except urllib3.exceptions.DecodeError as error:
        raise requests.exceptions.ContentDecodingError(error) from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise requests.ConnectionError(error) from error


def session(allowed_hosts: Sequence[str] | None = None) -> requests.Session:
    """A requests session whose every request (and redirect) passes the guard."""
    policy = Policy.current(allowed_hosts)
    guarded = requests.Session()
    guarded.trust_env = False  # no proxies nor .netrc credentials from the environment
    guarded.max_redirects = policy.max_redirects
    adapter = GuardedAdapter(max_retries=0, allowed_hosts=allowed_hosts)
    guarded.mount("https://", adapter)
    guarded.mount("http://", adapter)
    guarded.headers["User-Agent"] = "Landmark"
    return guarded


def request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One guarded request (for webhooks and connectors)."""
    with session() as guarded:
        return guarded.request(method, url, **kwargs)


__all__ = [
    "Policy",
    "Refused",
    "Unresolvable",
    "check_url",
    "is_public",
    "request",
    "session",
]

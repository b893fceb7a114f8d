"""The signature of a webhook request (docs/api.md, "Verifying a webhook").

Landmark-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>,
where <timestamp> is the Landmark-Timestamp header (Unix seconds) and <body> the raw
request body. A receiver recomputes it, compares in constant time and refuses a
timestamp older than a few minutes (a replayed request).
"""

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Landmark-Signature"
TIMESTAMP_HEADER = "Landmark-Timestamp"
EVENT_HEADER = "Landmark-Event"
DELIVERY_HEADER = "Landmark-Delivery"
SECRET_PREFIX = "whsec_"  # noqa: S105  # a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"v1={digest}"


def verify(
    secret: str, timestamp: str, body: bytes, header: str, *, now: int, tolerance: int
) -> bool:
    """What a receiver does (the tests' receiver uses it, and docs/api.md shows it)."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    expected = signature(secret, int(timestamp), body)
    return any(
        hmac.compare_digest(expected, part.strip()) for part in header.split(",")
    )

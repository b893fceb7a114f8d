"""reverse() for a URL with one argument, resolved once per URL name.

`reverse()` walks the URLconf's patterns on every call (~50-150 µs here): a page or a
job that links hundreds of objects spends more on it than on the rest of the link. A
URL name whose only argument is a number or a URL-safe token is reversed once with a
marker in the argument's place; each link is then the text around it with the value in
between. Values that reverse() would quote, and URLs reversed under another script
prefix, go through reverse() (the prefix is part of the cache key).
"""

import re
from functools import lru_cache

from django.urls import get_script_prefix, reverse

# Digits: every converter our one-argument URLs use (int, str, slug) accepts them.
MARKER = "7301946285"
# Characters reverse() leaves as they are in a path argument (unreserved, and ":").
SAFE = re.compile(r"[A-Za-z0-9_.~:-]+")


@lru_cache(maxsize=128)
def around(name: str, prefix: str) -> tuple[str, str]:
    """The path of `name` before and after its one argument, under `prefix`."""
    before, found, after = reverse(name, args=[MARKER]).rpartition(MARKER)
    if not found:
        raise ValueError(f"The URL {name!r} does not show its argument.")
    return before, after


def reverse_one(name: str, value: int | str) -> str:
    """reverse(name, args=[value]), the same text, without walking the URLconf."""
    text = str(value)
    if isinstance(value, int) and value < 0:
        return reverse(name, args=[value])
    if not isinstance(value, int) and not SAFE.fullmatch(text):
        return reverse(name, args=[value])
    before, after = around(name, get_script_prefix())
    return f"{before}{text}{after}"

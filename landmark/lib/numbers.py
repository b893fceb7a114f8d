"""Numbers and units as people read them: one formatter, built on Babel (CLDR data).

Every page, chart, email, chat message and notification shows a value through this
module, in its organization's locale (`Organization.locale`), so a value reads the
same everywhere (docs/kpis.md, "How values are shown"). Raw values (the API's
numbers, form fields, files) are never formatted here: they stay plain numbers.

The rules:

- Grouping and the decimal sign follow the locale: 30,000.5 in en_US, 30.000,5 in
  de_DE. Up to 2 decimal places (3 significant digits below 1, at most the 4 places
  a value is stored with), trailing zeros dropped; written out in full (`compact=False`,
  where a value is checked or corrected) every stored place shows.
- From 100,000 on, a value is shown in the locale's compact form with at most 3
  significant digits: 1,688,200 is 1.69M (a locale without a compact word for a
  magnitude, as German for thousands, writes the number out).
- A unit is free text; three kinds are read from it:
  - `%`: a percentage (95.5 is 95.5%);
  - a currency, as an ISO code or a symbol ($ USD, € EUR, £ GBP, ¥ JPY) with an
    optional scale before or after it (k thousands, M millions, bn billions):
    `USD`, `$`, `k USD`, `$M`, `£M`, `EUR k` (8.8 `$M` is $8.8M, 1688.2 `k USD` is
    $1.69M, 45 `USD` is $45);
  - anything else is a noun written after the number (30,000 visitors, 4.5 h).
- Ranges write a noun once (`30,000 → 45,000 visitors`) and a symbol on each end
  (`$8.8M → $12M`).
- Progress below the start reads "25% below start"; a milestone reads "Done" or
  "Not done", never as a percentage.
"""

import decimal
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import lru_cache
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel import numbers as cldr
from babel.localedata import locale_identifiers

DEFAULT_LOCALE = "en_US"
COMPACT_FROM = Decimal(100_000)
HUGE = 30  # from 10^30 on (beyond any stored value times its scale): 1.23E40
SIGNIFICANT = 3  # digits a compact form keeps
PLACES, SMALL_PLACES = 2, 4  # decimal places shown; below 1 in size
MISSING = "—"

Number = Decimal | int | float
UnitKind = Literal["plain", "percent", "currency", "noun"]

SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
SCALES = {
    "k": Decimal(10**3),
    "K": Decimal(10**3),
    "M": Decimal(10**6),
    "m": Decimal(10**6),
    "mn": Decimal(10**6),
    "B": Decimal(10**9),
    "bn": Decimal(10**9),
}
_SCALE = "|".join(sorted(SCALES, key=len, reverse=True))
_CODE = r"[A-Z]{3}|[$€£¥]"
_CURRENCY = re.compile(
    rf"^(?:(?P<before>{_SCALE})\s*)?(?P<code>{_CODE})(?:\s*(?P<after>{_SCALE}))?$"
)


# Locales


@lru_cache(maxsize=1)
def known_locales() -> frozenset[str]:
    return frozenset(locale_identifiers())


@lru_cache(maxsize=1)
def locale_choices() -> list[tuple[str, str]]:
    """Every known locale as (identifier, "English name — identifier"), by name."""
    named = []
    for name in known_locales():
        try:
            label = Locale.parse(name).get_display_name("en") or name
        except (UnknownLocaleError, ValueError):
            label = name
        named.append((name, f"{label} — {name}"))
    return sorted(named, key=lambda pair: pair[1].casefold())


def is_known_locale(name: str) -> bool:
    """Whether Babel has data for this locale identifier (en_US, de_DE, fr)."""
    return name in known_locales()


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    try:
        return Locale.parse(name or DEFAULT_LOCALE)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


# Units


@dataclass(frozen=True)
class Unit:
    """What a KPI's or key result's free-text unit means for display."""

    kind: UnitKind
    noun: str = ""  # written after the number (kind "noun")
    currency: str = ""  # ISO 4217 code (kind "currency")
    scale: Decimal = Decimal(1)  # a value of 1 is this much (k USD: 1000 USD)


@lru_cache(maxsize=512)
def parse_unit(unit: str) -> Unit:
    text = (unit or "").strip()
    if not text:
        return Unit("plain")
    if text == "%":
        return Unit("percent")
    if text in SCALES:
        return Unit("plain", scale=SCALES[text])
    match = _CURRENCY.fullmatch(text)
    if match and not (match["before"] and match["after"]):
        code = SYMBOLS.get(match["code"], match["code"])
        if code in cldr.list_currencies():
            scale = match["before"] or match["after"]
            return Unit(
                "currency", currency=code, scale=SCALES[scale] if scale else Decimal(1)
            )
    return Unit("noun", noun=text)


# Numbers


def _decimal(value: Number) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _room(number: Decimal) -> "decimal.Context":
    """A context precise enough to round the number (Babel rounds in the current
    context, 28 digits by default)."""
    context = decimal.getcontext().copy()
    context.prec = max(28, number.adjusted() + 12)
    return context


def _huge(number: Decimal, locale: Locale) -> str | None:
    """Scientific notation for what no grouping would make readable (and what
    Decimal's default precision cannot round)."""
    if number.is_zero() or number.adjusted() < HUGE:
        return None
    return cldr.format_scientific(number, "#.##E0", locale=locale)


def _quantize(number: Decimal, exponent: int) -> Decimal:
    """Rounded half up to 10^exponent, without -0, whatever its size."""
    with localcontext() as context:
        context.prec = max(28, number.adjusted() - exponent + 3)
        rounded = number.quantize(Decimal(1).scaleb(exponent), ROUND_HALF_UP)
    return Decimal(0) if rounded.is_zero() else rounded


def _rounded(number: Decimal, exact: bool = False) -> Decimal:
    """At most 2 decimal places, 3 significant digits below 1 (never more than the 4
    places a value is stored with); `exact`: every stored place. Trailing zeros
    dropped."""
    if exact:
        places = SMALL_PLACES
    elif abs(number) >= 1 or number.is_zero():
        places = PLACES
    else:
        places = min(SMALL_PLACES, SIGNIFICANT - 1 - number.adjusted())
    rounded = _quantize(number, -places)
    if rounded == rounded.to_integral_value():
        return _quantize(rounded, 0)
    return rounded.normalize()


def _significant(number: Decimal, digits: int = SIGNIFICANT) -> Decimal:
    return _quantize(number, number.adjusted() - digits + 1)


def _compact_pattern(locale: Locale, number: Decimal, currency: bool) -> str | None:
    """The locale's short compact pattern for the number's magnitude, or None when
    the locale writes such a number out (its pattern is a bare "0")."""
    formats = (
        locale.compact_currency_formats if currency else locale.compact_decimal_formats
    )
    patterns = formats["short"]["other"]
    fitting = [int(m) for m in patterns if int(m) <= abs(number)]
    if not fitting:
        return None
    pattern = cldr.parse_pattern(patterns[str(max(fitting))])
    return None if pattern.pattern == "0" else pattern.pattern


def _compact(
    number: Decimal, locale: Locale, currency: str = "", start: Decimal = COMPACT_FROM
) -> str | None:
    if abs(number) < start:
        return None
    shown = _significant(number)
    if _compact_pattern(locale, shown, bool(currency)) is None:
        return None
    if currency:
        return cldr.format_compact_currency(
            shown, currency, locale=locale, fraction_digits=SIGNIFICANT - 1
        )
    return cldr.format_compact_decimal(
        shown, locale=locale, fraction_digits=SIGNIFICANT - 1
    )


def number(value: Number | None, locale: str, *, compact: bool = True) -> str:
    """A plain number: 30,000 · 1.69M · 0.125 (de_DE: 30.000 · 1,69 Mio. · 0,125)."""
    return _number(value, locale, COMPACT_FROM if compact else None)


def _number(value: Number | None, locale: str, compact_from: Decimal | None) -> str:
    given = None if value is None else _decimal(value)
    if given is None:
        return MISSING
    babel_locale = _locale(locale)
    if (shown := _huge(given, babel_locale)) is not None:
        return shown
    if (
        compact_from is not None
        and (shown := _compact(given, babel_locale, start=compact_from)) is not None
    ):
        return shown
    with localcontext(_room(given)):
        return cldr.format_decimal(
            _rounded(given, exact=compact_from is None),
            locale=babel_locale,
            decimal_quantization=False,
        )


def _currency(
    amount: Decimal, code: str, locale: Locale, compact_from: Decimal | None
) -> str:
    if (shown := _huge(amount, locale)) is not None:
        return f"{shown} {code}"
    if (
        compact_from is not None
        and (shown := _compact(amount, locale, code, compact_from)) is not None
    ):
        return shown
    cents = _quantize(amount, -cldr.get_currency_precision(code))
    pattern = cldr.parse_pattern(locale.currency_formats["standard"])
    with localcontext(_room(amount)):
        if cents == cents.to_integral_value():  # $45, not $45.00; $45.50 keeps cents
            pattern.frac_prec = (0, 0)
            return str(
                pattern.apply(cents, locale, currency=code, currency_digits=False)
            )
        return str(pattern.apply(cents, locale, currency=code))


def _percent(value: Decimal, locale: Locale, exact: bool = False) -> str:
    if (shown := _huge(value, locale)) is not None:
        return f"{shown}%"
    with localcontext(_room(value)):
        share = _rounded(value, exact) / 100
        return cldr.format_percent(share, locale=locale, decimal_quantization=False)


def amount(
    value: Number | None, unit: str, locale: str, *, compact: bool = True
) -> str:
    """A value with its unit: $8.8M · $1.69M · 95.5% · 30,000 visitors · 4.5 h."""
    return _amount(value, unit, locale, COMPACT_FROM if compact else None)


def _amount(
    value: Number | None, unit: str, locale: str, compact_from: Decimal | None
) -> str:
    given = None if value is None else _decimal(value)
    if given is None:
        return MISSING
    meaning = parse_unit(unit)
    babel_locale = _locale(locale)
    with localcontext() as context:
        context.prec = max(28, given.adjusted() + 20)
        scaled = given * meaning.scale
    if meaning.kind == "percent":
        return _percent(scaled, babel_locale, exact=compact_from is None)
    if meaning.kind == "currency":
        return _currency(scaled, meaning.currency, babel_locale, compact_from)
    shown = _number(scaled, locale, compact_from)
    return f"{shown} {meaning.noun}" if meaning.kind == "noun" else shown


def _pair(
    low: Number | None, high: Number | None, unit: str, locale: str, joiner: str
) -> str:
    """Both ends alike: compact when either end is (30K → 150K visitors)."""
    meaning = parse_unit(unit)
    ends = [None if v is None else _decimal(v) for v in (low, high)]
    sizes = [abs(v * meaning.scale) for v in ends if v is not None]
    compact_from = Decimal(0) if any(s >= COMPACT_FROM for s in sizes) else COMPACT_FROM
    if meaning.kind == "noun":
        text = joiner.join(_amount(v, "", locale, compact_from) for v in ends)
        return f"{text} {meaning.noun}"
    return joiner.join(_amount(v, unit, locale, compact_from) for v in ends)


def change(start: Number | None, end: Number | None, unit: str, locale: str) -> str:
    """From one value to another: 30,000 → 45,000 visitors · $8.8M → $12M."""
    return _pair(start, end, unit, locale, " → ")


def from_to(start: Number | None, end: Number | None, unit: str, locale: str) -> str:
    """The same in a sentence: from 61 to 68 deals · from $8.8M to $12M."""
    return _pair(start, end, unit, locale, " to ")


def between(low: Number | None, high: Number | None, unit: str, locale: str) -> str:
    """A band: 90–110 visitors · $90K–$110K · 95%–98%."""
    return _pair(low, high, unit, locale, "–")


def bound(symbol: str, value: Number | None, unit: str, locale: str) -> str:
    """A one-sided target: ≥ $100K · ≤ 2% · > 30,000 visitors."""
    return f"{symbol} {amount(value, unit, locale)}"


# Progress, milestones and scores


def percent(points: Number | None, locale: str) -> str:
    """A share given in percentage points: 62 is 62% (de_DE: 62 %)."""
    given = None if points is None else _decimal(points)
    if given is None:
        return MISSING
    return _percent(given, _locale(locale))


def progress(share: float | None, locale: str) -> str:
    """A key result's progress (1.0 is its target), in whole percent; below its
    start it says so: "25% below start"."""
    if share is None:
        return MISSING
    points = _decimal(share)
    if points is None:
        return MISSING
    whole = _quantize(points.scaleb(2), 0)
    if whole < 0:
        return f"{percent(-whole, locale)} below start"
    return percent(whole, locale)


def milestone(done: bool | None) -> str:
    return "Done" if done else "Not done"


def score(value: Number | None, locale: str) -> str:
    """An OKR grade (0 to 1), always with 2 places: 0.70 (de_DE: 0,70)."""
    given = None if value is None else _decimal(value)
    if given is None:
        return MISSING
    if (shown := _huge(given, _locale(locale))) is not None:
        return shown
    with localcontext(_room(given)):
        return cldr.format_decimal(
            _quantize(given, -2), format="0.00", locale=_locale(locale)
        )


# Chart axes


def axis_ticks(low: float, high: float, count: int = 5) -> list[Decimal]:
    """Round values for a chart's axis covering low..high (about `count` of them,
    steps of 1, 2, 2.5 or 5 times a power of ten), so the server writes the axis
    labels with the same rule as every other number."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    low, high = min(low, high), max(low, high)
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = Decimal(repr((high - low) / max(1, count - 1)))
    power = Decimal(1).scaleb(raw.adjusted())
    step = next(
        m * power
        for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
        if m * power >= raw
    )
    first = (Decimal(repr(low)) / step).to_integral_value(rounding="ROUND_FLOOR") * step
    last = (Decimal(repr(high)) / step).to_integral_value(
        rounding="ROUND_CEILING"
    ) * step
    ticks: list[Decimal] = []
    tick = first
    while tick <= last and len(ticks) < 4 * count:
        ticks.append(tick.normalize() if tick else Decimal(0))
        tick += step
    return ticks

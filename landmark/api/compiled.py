"""Queries compiled to SQL once per shape, then run with each call's values.

Building a queryset and compiling it to SQL costs more than running it on a small
page (a 50-row list: ~0.6 ms of Python against ~0.3 ms in SQLite). An API list runs
the same few query shapes over and over with other values: the caller's
organization and user, the filters sent, the cursor. So a list is written as a
function of those values (`query(*values)`, built with the ORM and the access
helpers as usual) and compiled once with stand-in values (sentinels); each stand-in
found among the compiled parameters marks a slot that later calls fill with their
own values. The rows are read with the ORM's own converters, as `.values()` would.

Safe by construction: a shape is cached only if every value used lands whole in a
parameter (not in the SQL text, not transformed as by LIKE or into another type) and
if the first call's own values, compiled by the ORM, give the very same SQL and the
very same parameters as the stand-ins with those values in their slots (so a
condition the ORM drops or adds for one value and not the other is never cached).
Otherwise the shape is built by the ORM on each call, as before. Whatever else
changes the SQL must be part of `shape` (booleans, which filters are present, the
caller's role): `query` may read nothing but its arguments and what `shape` names,
and its callers keep values in range (ids at most MAX_ID, as the API validates).
"""

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from threading import Lock
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler

MAX_SHAPES = 512
# Stand-ins no real call sends: ids near the top of 32-bit integers (in every integer
# field's range), marked strings, datetimes and dates in 1901.
INT_SENTINEL = 2_000_000_000
STR_SENTINEL = "\x1flandmark-sentinel-{}\x1f"
DATETIME_SENTINEL = datetime(1901, 1, 1, tzinfo=UTC)
DATE_SENTINEL = date(1901, 1, 1)

# How a value becomes a parameter: as it is, or adapted as the ORM adapts it.
AS_IS, AS_DATETIME, AS_DATE = "as-is", "datetime", "date"


class NotCompilable(Exception):
    """This shape's values cannot all be told apart in its SQL. `lasting`: the same
    would happen on every call of the shape (remember it), or not (a stand-in the ORM
    refused: try again next time)."""

    def __init__(self, message: str, *, lasting: bool = True) -> None:
        super().__init__(message)
        self.lasting = lasting


@dataclass(frozen=True)
class Compiled:
    sql: str
    # Per parameter: (index of the value, how to adapt it), or None for a constant.
    slots: tuple[tuple[int, str] | None, ...]
    constants: tuple[Any, ...]
    names: tuple[str, ...]
    compiler: SQLCompiler
    converters: dict[int, Any]


class Shapes:
    """The compiled shapes of this process, least recently used dropped first."""

    def __init__(self, size: int = MAX_SHAPES) -> None:
        self.size = size
        self.entries: OrderedDict[Hashable, Compiled | None] = OrderedDict()
        self.lock = Lock()
        self.compiled = 0  # how many times a shape was compiled (tests read it)

    def get(self, key: Hashable) -> tuple[bool, Compiled | None]:
        with self.lock:
            if key not in self.entries:
                return False, None
            self.entries.move_to_end(key)
            return True, self.entries[key]

    def put(self, key: Hashable, entry: Compiled | None) -> None:
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            self.compiled += 1
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


shapes = Shapes()


def rows(
    shape: Hashable,
    query: Callable[..., QuerySet[Any]],
    values: Sequence[Any],
    using: str = DEFAULT_DB_ALIAS,
) -> list[dict[str, Any]]:
    """The rows of `query(*values)`, a `.values()` queryset, as dicts: compiled once
    per `shape` (and database), run with `values` each time."""
    key = (using, shape, tuple(type(value) for value in values))
    found, entry = shapes.get(key)
    if not found:
        try:
            entry = compile_shape(query, values, using)
        except NotCompilable as error:
            entry = None
            if error.lasting:
                shapes.put(key, entry)
        else:
            shapes.put(key, entry)
    if entry is None:
        return list(query(*values).using(using))
    return run(entry, values, using)


def sentinel(
    value: Any, index: int, using: str = DEFAULT_DB_ALIAS
) -> tuple[Any, tuple[tuple[Any, str], ...]]:
    """A stand-in for `value` and the parameters it may become, with how."""
    if isinstance(value, bool) or value is None:
        raise NotCompilable("booleans and None change the SQL: put them in the shape")
    if isinstance(value, int):
        stand_in: Any = INT_SENTINEL + index
        return stand_in, ((stand_in, AS_IS),)
    if isinstance(value, str):
        stand_in = STR_SENTINEL.format(index)
        return stand_in, ((stand_in, AS_IS),)
    if isinstance(value, datetime):
        stand_in = DATETIME_SENTINEL + timedelta(microseconds=index + 1)
        adapted = adapt(stand_in, AS_DATETIME, using)
        return stand_in, ((stand_in, AS_IS), (adapted, AS_DATETIME))
    if isinstance(value, date):
        stand_in = DATE_SENTINEL + timedelta(days=index)
        return stand_in, ((stand_in, AS_IS), (adapt(stand_in, AS_DATE, using), AS_DATE))
    raise NotCompilable(f"no stand-in for {type(value).__name__}")


def adapt(value: Any, how: str, using: str = DEFAULT_DB_ALIAS) -> Any:
    ops = connections[using].ops
    if how == AS_DATETIME:
        return ops.adapt_datetimefield_value(value)
    if how == AS_DATE:
        return ops.adapt_datefield_value(value)
    return value


def compile_shape(
    query: Callable[..., QuerySet[Any]], values: Sequence[Any], using: str
) -> Compiled:
    stand_ins, forms = [], {}
    for index, value in enumerate(values):
        stand_in, kinds = sentinel(value, index, using)
        stand_ins.append(stand_in)
        for form, how in kinds:
            forms[(type(form), form)] = (index, how)
    try:
        queryset = query(*stand_ins).using(using)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
    except Exception as error:  # e.g. a stand-in refused (a slice bound too large)
        # The real values then go through the ORM, which raises what is really wrong.
        raise NotCompilable(
            f"the stand-ins could not be compiled: {error!r}", lasting=False
        ) from error
    slots: list[tuple[int, str] | None] = []
    constants: list[Any] = []
    for param in params:
        slot = forms.get((type(param), param)) if _hashable(param) else None
        slots.append(slot)
        constants.append(None if slot else param)
        if slot is None and any(_mentions(param, s) for s in stand_ins):
            raise NotCompilable("a value was transformed into a parameter")
    # A value may go unused (an admin's list does not filter on the user); one that
    # is used must be a parameter of its own, never part of the SQL text.
    if any(_mentions(sql, s) for s in stand_ins):
        raise NotCompilable("a value was written into the SQL text")
    # The proof: the first call's own values, compiled by the ORM, give the same SQL
    # and the same parameters as the stand-ins' SQL with those values in its slots.
    real_sql, real_params = query(*values).using(using).query.sql_with_params()
    filled = fill(slots, constants, values, using)
    if real_sql != sql or not _same(real_params, filled):
        raise NotCompilable("the stand-ins compile to other SQL than the values")
    query_ = queryset.query
    names = (*query_.extra_select, *query_.values_select, *query_.annotation_select)
    columns = [col for col, _, _ in compiler.select[: compiler.col_count]]
    return Compiled(
        sql=sql,
        slots=tuple(slots),
        constants=tuple(constants),
        names=tuple(names),
        compiler=compiler,
        converters=compiler.get_converters(columns),
    )


def fill(
    slots: Sequence[tuple[int, str] | None],
    constants: Sequence[Any],
    values: Sequence[Any],
    using: str,
) -> list[Any]:
    return [
        constant if slot is None else adapt(values[slot[0]], slot[1], using)
        for slot, constant in zip(slots, constants, strict=True)
    ]


def run(entry: Compiled, values: Sequence[Any], using: str) -> list[dict[str, Any]]:
    params = fill(entry.slots, entry.constants, values, using)
    with connections[using].cursor() as cursor:
        cursor.execute(entry.sql, params)
        fetched = cursor.fetchall()
    if entry.converters:
        fetched = list(entry.compiler.apply_converters(fetched, entry.converters))
    names = entry.names
    return [dict(zip(names, row, strict=True)) for row in fetched]


def _same(these: Sequence[Any], those: Sequence[Any]) -> bool:
    """Equal parameters, of the same types (1 and True, 1 and Decimal(1) differ)."""
    return len(these) == len(those) and all(
        type(a) is type(b) and a == b for a, b in zip(these, those, strict=True)
    )


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _mentions(text: Any, stand_in: Any) -> bool:
    if isinstance(stand_in, str):
        return isinstance(text, str) and stand_in.strip("\x1f") in text
    if isinstance(stand_in, int):
        return isinstance(text, str) and str(stand_in) in text
    return isinstance(text, str) and "1901-01-0" in text

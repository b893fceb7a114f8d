"""CSV read one record per line, with quoting that must pair up on that line.

Python's `csv` lets a quoted field run over line breaks, so a quote left open in
one note swallows every line after it into that note and the file still "parses".
Landmark's CSV files (KPI values: the web import and the API's batch endpoint) hold
one value per line, so a record that does not end on its own line, or a quote
followed by more text, is an error for that line, and the next line is read on its
own: one stray quote never hides the rows after it.
"""

import csv
import io
import re
from collections.abc import Iterator
from typing import NamedTuple

LINE_BREAK = re.compile(r"\r\n|\r|\n")
UNCLOSED = (
    "a quote opens a field that does not end on this line; close the quote "
    '("like this") or remove it'
)
AFTER_QUOTE = (
    "text follows a closing quote; quote the whole field and double each quote "
    'inside it ("say ""hi""")'
)


class CSVLine(NamedTuple):
    """One line: its number (from 1) and its cells, or what is wrong with it."""

    number: int
    cells: list[str]
    problem: str = ""


def split_lines(text: str) -> list[str]:
    """The physical lines (\\n, \\r\\n or \\r), without a last empty one."""
    lines = LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_lines(text: str, *, delimiter: str = ",") -> Iterator[CSVLine]:
    """Every line of `text` as cells, in order; a line whose quoting does not pair up
    (or that the csv module cannot read) comes with a problem in plain words and no
    cells. Blank lines come as no cells and no problem.

    One reader goes through the file while every record is one line (the common
    case, at the csv module's speed); from the first record that is not, each line
    is read on its own, so a broken file costs no more than twice a good one.
    """
    # newline="": the reader sees \n, \r\n and \r as line ends, as split_lines does.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    done = 0
    try:
        for cells in reader:
            if reader.line_num != done + 1:
                break  # a quoted field ran over a line break
            done += 1
            yield CSVLine(done, cells)
        else:
            return
    except csv.Error:
        pass
    lines = split_lines(text)
    for index in range(done, len(lines)):
        yield _one_line(index + 1, lines[index], delimiter)


def _one_line(number: int, line: str, delimiter: str) -> CSVLine:
    try:
        cells = next(csv.reader([line], delimiter=delimiter, strict=True), [])
    except csv.Error as error:
        return CSVLine(number, [], _problem(error))
    return CSVLine(number, cells)


def _problem(error: csv.Error) -> str:
    message = str(error)
    if "unexpected end of data" in message:
        return UNCLOSED
    if "expected after" in message:
        return AFTER_QUOTE
    return f"the line could not be read ({message})"

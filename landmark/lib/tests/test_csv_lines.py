"""One CSV record per line: quoting that does not pair up is an error of its line."""

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from landmark.lib.csv_lines import AFTER_QUOTE, UNCLOSED, CSVLine, read_lines


def test_good_lines_are_read_as_the_csv_module_reads_them():
    text = 'a,b\r\n"c, d","e ""f"""\r\n\r\n1,2'

    assert list(read_lines(text)) == [
        CSVLine(1, ["a", "b"]),
        CSVLine(2, ["c, d", 'e "f"']),
        CSVLine(3, []),
        CSVLine(4, ["1", "2"]),
    ]


def test_an_open_quote_fails_its_own_line_and_the_next_lines_are_read_alone():
    text = '1,"open\n2,two\n3,"three"\n'

    assert list(read_lines(text)) == [
        CSVLine(1, [], UNCLOSED),
        CSVLine(2, ["2", "two"]),
        CSVLine(3, ["3", "three"]),
    ]


def test_a_quoted_field_over_two_lines_is_refused_not_joined():
    lines = list(read_lines('1,"two\nlines",x\n'))

    assert lines[0] == CSVLine(1, [], UNCLOSED)
    assert lines[1].number == 2 and lines[1].problem == ""


def test_text_after_a_closing_quote_is_refused():
    assert list(read_lines('1,"a"b\n2,c', delimiter=",")) == [
        CSVLine(1, [], AFTER_QUOTE),
        CSVLine(2, ["2", "c"]),
    ]


def test_semicolons_as_delimiter():
    assert list(read_lines('1;"2;3"\n', delimiter=";")) == [CSVLine(1, ["1", "2;3"])]


def test_a_file_of_open_quotes_costs_one_pass_per_line():
    # Each line is read alone once the first one fails: no line swallows the rest.
    text = '1,"x\n' * 5_000

    lines = list(read_lines(text))

    assert len(lines) == 5_000
    assert {line.problem for line in lines} == {UNCLOSED}


cells = st.lists(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=8), min_size=1
)


@given(st.lists(cells, max_size=10))
def test_rows_written_by_the_csv_module_on_one_line_each_read_back(rows):
    """Whatever csv.writer writes (quotes, commas, doubled quotes) reads back the
    same, as long as no field holds a line break."""
    rows = [[c.replace("\r", " ").replace("\n", " ") for c in row] for row in rows]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)

    read = list(read_lines(out.getvalue()))

    assert [line.problem for line in read] == [""] * len(rows)
    assert [line.cells for line in read] == rows

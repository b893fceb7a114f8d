"""CSV import of a KPI's values: the parser on its own, then upload, preview and
confirmation through HTTP. Any error imports nothing; a confirmation is checked again."""

import html
import re
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from landmark.kpis import actions
from landmark.kpis.csv_import import MAX_ROWS, parse_csv
from landmark.kpis.models import KPI, DataPoint, KPIWindow

D = Decimal
PARIS = ZoneInfo("Europe/Paris")


def messages_of(text: str, tz=PARIS, **kw) -> list[str]:
    return [e.message for e in parse_csv(text, default_tz=tz, **kw)[1]]


# The parser


def test_it_reads_dates_as_midnight_in_the_default_time_zone():
    rows, errors = parse_csv("2024-03-01,12.5\n2024-03-02,13\n", default_tz=PARIS)

    assert errors == []
    assert [(r.line, r.time, r.value, r.note) for r in rows] == [
        (1, datetime(2024, 3, 1, tzinfo=PARIS), D("12.5"), ""),
        (2, datetime(2024, 3, 2, tzinfo=PARIS), D("13"), ""),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T14:30", datetime(2024, 3, 1, 14, 30, tzinfo=PARIS)),
        ("2024-03-01 14:30:15", datetime(2024, 3, 1, 14, 30, 15, tzinfo=PARIS)),
        ("2024-03-01T14:30:00Z", datetime(2024, 3, 1, 14, 30, tzinfo=UTC)),
        (
            "2024-03-01T14:30+05:30",
            datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
        ),
        (
            "2024-03-01T14:30:00-04:00",
            datetime(2024, 3, 1, 14, 30, tzinfo=dt_timezone(timedelta(hours=-4))),
        ),
    ],
)
def test_it_reads_datetimes_with_or_without_an_offset(text, expected):
    rows, errors = parse_csv(f"{text},1\n", default_tz=PARIS)

    assert errors == []
    assert rows[0].time == expected
    assert rows[0].time.utcoffset() is not None


@pytest.mark.parametrize(
    "header", ["time,value,note", "Date;Value", "timestamp,value", "when,how much"]
)
def test_it_skips_a_header_line(header):
    delimiter = ";" if ";" in header else ","
    rows, errors = parse_csv(f"{header}\n2024-03-01{delimiter}7\n", default_tz=PARIS)

    assert errors == []
    assert [(r.line, r.value) for r in rows] == [(2, D("7"))]


def test_a_bad_first_line_is_an_error_not_a_header():
    """Only a line whose time and value both fail to read is taken for a header."""
    assert messages_of("2024-03-01,abc\n2024-03-02,1\n") == [
        "Line 1: 'abc' is not a number"
    ]
    assert messages_of("abc,5\n") == ["Line 1: 'abc' is not a date"]


def test_blank_lines_are_skipped_and_line_numbers_stay_true():
    text = "\ntime,value\n\n2024-03-01,1\n   \n2024-03-02,x\n,\n"

    rows, errors = parse_csv(text, default_tz=PARIS)

    assert [r.line for r in rows] == [4]
    assert [e.message for e in errors] == ["Line 6: 'x' is not a number"]


def test_notes_and_quoted_fields_are_read():
    rows, errors = parse_csv(
        '2024-03-01,1.5,"Black Friday, all hands"\n2024-03-02,2,  quiet  \n',
        default_tz=PARIS,
    )

    assert errors == []
    assert [r.note for r in rows] == ["Black Friday, all hands", "quiet"]


UNCLOSED = (
    "a quote opens a field that does not end on this line; close the quote "
    '("like this") or remove it'
)
AFTER_QUOTE = (
    "text follows a closing quote; quote the whole field and double each quote "
    'inside it ("say ""hi""")'
)


def test_an_unterminated_quote_is_an_error_of_its_line_and_swallows_nothing():
    text = (
        'time,value,note\n2024-03-01,1,"Launch day\n2024-03-02,2,second\n2024-03-03,3\n'
    )

    rows, errors = parse_csv(text, default_tz=PARIS)

    assert [e.message for e in errors] == [f"Line 2: {UNCLOSED}"]
    # The lines after the broken one are read as themselves, not as its note.
    assert [(r.line, r.value, r.note) for r in rows] == [
        (3, D(2), "second"),
        (4, D(3), ""),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('2024-03-01,1,"note" and more', AFTER_QUOTE),
        ('2024-03-01,"1"5', AFTER_QUOTE),
        ('"2024-03-01,1,note', UNCLOSED),
        ('2024-03-01,1,"a note\nover two lines"', UNCLOSED),
    ],
)
def test_quoting_that_does_not_pair_up_on_its_line_is_a_row_error(line, message):
    assert messages_of(f"2024-02-01,1\n{line}\n2024-02-03,3\n")[0] == (
        f"Line 2: {message}"
    )


def test_quotes_that_pair_up_are_read_and_doubled_quotes_are_one():
    rows, errors = parse_csv(
        '"2024-03-01","1.5","He said ""ship it"", then left"\n', default_tz=PARIS
    )

    assert errors == []
    assert [r.note for r in rows] == ['He said "ship it", then left']


def test_every_row_error_is_listed_in_plain_words_with_its_line():
    text = (
        "time,value\n"
        "2024-03-01,1\n"
        "2024-03-02,2\n"
        "2024-03-03,abc\n"
        "2024-03-04\n"
        "2024-03-05,,\n"
        "2024-13-01,5\n"
        "2024-03-06,1,note,extra\n"
        "2024-03-02,9\n"
        "2024-03-07,NaN\n"
        f"2024-03-08,1,{'x' * 501}\n"
        "2024-03-09,1e20\n"
    )

    assert messages_of(text) == [
        "Line 4: 'abc' is not a number",
        "Line 5: expected time,value or time,value,note; found 1 column",
        "Line 6: the value is missing",
        "Line 7: '2024-13-01' is not a date",
        "Line 8: expected time,value or time,value,note; found 4 columns",
        "Line 9: the same time as line 3",
        "Line 10: 'NaN' is not a number",
        "Line 11: the note is longer than 500 characters",
        "Line 12: '1e20' is too large (at most 15 digits before the point)",
    ]


def test_a_date_and_its_midnight_are_the_same_time():
    assert messages_of("2024-03-01,1\n2024-03-01T00:00,2\n") == [
        "Line 2: the same time as line 1"
    ]


def test_a_decimal_comma_is_refused_with_a_clear_message():
    # Spreadsheets set to a decimal comma separate columns with semicolons.
    assert messages_of("2024-03-01;1,5\n") == [
        "Line 1: '1,5' has a decimal comma; write it with a decimal point (1234.5)"
    ]
    assert messages_of('2024-03-01,"1,5"\n') == [
        "Line 1: '1,5' has a decimal comma; write it with a decimal point (1234.5)"
    ]


def test_a_value_with_more_than_four_decimal_places_is_refused_not_rounded():
    # It was rounded (3.14159 stored as 3.1416) while the form and the API refused
    # it: one rule now (landmark.lib.values).
    rows, errors = parse_csv(
        "2024-03-01,3.14159\n2024-03-02,-2\n2024-03-03,1.50000\n", default_tz=PARIS
    )

    assert [e.message for e in errors] == [
        "Line 1: '3.14159' has more than 4 decimal places"
    ]
    assert [r.value for r in rows] == [D("-2.0000"), D("1.5000")]


def test_a_time_in_the_future_is_refused_when_now_is_given():
    now = datetime(2024, 3, 1, 12, tzinfo=UTC)

    assert messages_of("2024-03-01T11:00Z,1\n2024-03-02,1\n", now=now) == [
        "Line 2: '2024-03-02' is in the future"
    ]


def test_too_many_rows_is_one_clear_error():
    start = datetime(2000, 1, 1)
    lines = [
        f"{(start + timedelta(hours=n)).isoformat()},{n}" for n in range(MAX_ROWS + 5)
    ]

    rows, errors = parse_csv("\n".join(lines), default_tz=UTC)

    assert len(rows) == MAX_ROWS
    assert [e.message for e in errors] == [
        "The file has more than 10,000 rows; split it into smaller files."
    ]
    assert errors[0].line == MAX_ROWS + 1


def test_a_byte_order_mark_and_windows_line_ends_are_fine():
    rows, errors = parse_csv("\ufefftime,value\r\n2024-03-01,1\r\n", default_tz=PARIS)

    assert errors == [] and [r.line for r in rows] == [2]


# Upload, preview, confirm


@pytest.fixture
def kpi(org, alice) -> KPI:
    return actions.create_kpi(
        org=org,
        name="Weekly active teams",
        owner=alice,
        frequency=KPI.Frequency.WEEKLY,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=D("100"),
    )


def upload(client, kpi: KPI, text: str, name: str = "values.csv"):
    return client.post(
        reverse("kpi_import", args=[kpi.pk]),
        {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")},
    )


def page_of(response) -> str:
    return response.content.decode()


def confirm_content(page: str) -> str:
    found = re.search(r'<textarea name="content"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "the preview offers to import"
    return html.unescape(found.group(1))


def stored() -> list[Any]:
    return [
        *list(DataPoint.objects.order_by("pk").values()),
        *list(KPIWindow.objects.order_by("pk").values()),
    ]


CLEAN = "time,value,note\n2024-01-01,90,New year\n2024-01-08,95\n2024-01-15,101.5\n"


def test_the_form_explains_the_columns(bob_client, kpi):
    page = page_of(bob_client.get(reverse("kpi_import", args=[kpi.pk])))

    assert "<code>time,value</code>" in page and "ISO 8601" in page
    assert "decimal point" in page and "header line" in page
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page


def test_a_clean_file_shows_a_preview_then_imports_every_row(bob_client, kpi, bob):
    page = page_of(upload(bob_client, kpi, CLEAN))

    assert not DataPoint.objects.exists()  # nothing until confirmed
    assert "3 values read, from 2024-01-01 00:00 to 2024-01-15 00:00." in page
    assert re.search(
        r"<td>2</td><td>2024-01-01 00:00</td><td>90</td><td>New year</td>", page
    )
    assert "Import 3 values" in page

    response = bob_client.post(
        reverse("kpi_import", args=[kpi.pk]),
        {"content": confirm_content(page), "confirm": "1"},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("kpi", args=[kpi.pk]), 302)]
    assert "Imported 3 values." in page_of(response)
    points = DataPoint.objects.filter(kpi=kpi).order_by("time")
    assert [(p.value, p.note, p.source, p.author) for p in points] == [
        (D("90"), "New year", DataPoint.Source.IMPORT, bob),
        (D("95"), "", DataPoint.Source.IMPORT, bob),
        (D("101.5"), "", DataPoint.Source.IMPORT, bob),
    ]
    assert KPIWindow.objects.filter(kpi=kpi).count() == 3


def test_the_preview_shows_the_first_twenty_rows_and_the_counts(bob_client, kpi):
    lines = [f"2023-01-{d:02d},{d}" for d in range(1, 31)]

    page = page_of(upload(bob_client, kpi, "\n".join(lines)))

    assert "30 values read" in page
    assert "The first 20 of 30 rows" in page
    assert len(re.findall(r"<tr><td>\d+</td><td>2023-01", page)) == 20
    assert "Import 30 values" in page


def test_the_preview_lists_errors_with_line_numbers_and_imports_nothing(
    bob_client, kpi
):
    text = "time,value\n2024-01-01,90\n2024-01-08,abc\n2024-13-01,5\n2024-01-01,91\n"

    page = page_of(upload(bob_client, kpi, text))

    assert "Nothing was imported." in page
    for message in (
        "Line 3: &#x27;abc&#x27; is not a number",
        "Line 4: &#x27;2024-13-01&#x27; is not a date",
        "Line 5: the same time as line 2",
    ):
        assert f"<li>{message}</li>" in page
    assert "Import 1 value" not in page and 'name="confirm"' not in page
    assert not DataPoint.objects.exists()


def test_an_unterminated_quote_is_a_row_error_in_the_preview_and_nothing_is_imported(
    bob_client, kpi
):
    text = 'time,value,note\n2024-01-01,90,"New year\n2024-01-08,95\n2024-01-15,101\n'

    page = page_of(upload(bob_client, kpi, text))

    assert "Nothing was imported." in page
    assert "<li>Line 2: a quote opens a field that does not end on this line;" in page
    # The rows after it are read on their own, not swallowed into line 2's note.
    assert "2 values read, from 2024-01-08 00:00 to 2024-01-15 00:00" in page
    assert 'name="confirm"' not in page

    response = bob_client.post(
        reverse("kpi_import", args=[kpi.pk]), {"content": text, "confirm": "1"}
    )

    assert "Line 2: a quote opens a field" in page_of(response)
    assert stored() == []


def test_a_file_with_one_bad_row_imports_nothing_even_when_confirmed(bob_client, kpi):
    text = CLEAN + "2024-01-22,n/a\n"

    response = bob_client.post(
        reverse("kpi_import", args=[kpi.pk]), {"content": text, "confirm": "1"}
    )

    assert response.status_code == 200
    assert "Line 5: &#x27;n/a&#x27; is not a number" in page_of(response)
    assert not DataPoint.objects.exists()


def test_tampered_content_is_checked_again_on_confirmation(bob_client, kpi):
    page = page_of(upload(bob_client, kpi, CLEAN))
    tampered = confirm_content(page) + "2024-01-22,lots\n"

    response = bob_client.post(
        reverse("kpi_import", args=[kpi.pk]), {"content": tampered, "confirm": "1"}
    )

    assert "Line 5: &#x27;lots&#x27; is not a number" in page_of(response)
    assert not DataPoint.objects.exists()


def test_importing_over_existing_values_keeps_them_as_corrected(bob_client, kpi, alice):
    old = actions.record_data_point(
        kpi=kpi,
        value=D("80"),
        time=timezone.make_aware(datetime(2024, 1, 8)),
        author=alice,
    )

    page = page_of(upload(bob_client, kpi, CLEAN))
    assert "1 of them replaces an existing value" in page
    bob_client.post(
        reverse("kpi_import", args=[kpi.pk]),
        {"content": confirm_content(page), "confirm": "1"},
    )

    old.refresh_from_db()
    assert old.is_current is False and old.replaced_by is not None
    assert old.replaced_by.value == D("95")
    assert DataPoint.objects.filter(kpi=kpi, is_current=True).count() == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Choose a CSV file."),
        (b"\xff\xfe1\x002\x00", "The file is not UTF-8 text"),
        (b"time,value\n\n", "The file has no values."),
    ],
)
def test_an_unusable_file_is_explained(bob_client, kpi, content, message):
    data = (
        {}
        if content is None
        else {"file": SimpleUploadedFile("v.csv", content, content_type="text/csv")}
    )

    page = page_of(bob_client.post(reverse("kpi_import", args=[kpi.pk]), data))

    assert message in page
    assert not DataPoint.objects.exists()


def test_a_viewer_cannot_import(viewer_client, kpi):
    assert viewer_client.get(reverse("kpi_import", args=[kpi.pk])).status_code == 403
    response = viewer_client.post(
        reverse("kpi_import", args=[kpi.pk]), {"content": CLEAN, "confirm": "1"}
    )

    assert response.status_code == 403
    assert stored() == []


def test_another_organization_cannot_import(charlie_client, kpi):
    response = charlie_client.post(
        reverse("kpi_import", args=[kpi.pk]), {"content": CLEAN, "confirm": "1"}
    )

    assert response.status_code == 404
    assert stored() == []


def test_import_answers_only_get_and_post(bob_client, kpi):
    response = bob_client.put(reverse("kpi_import", args=[kpi.pk]))

    assert response.status_code == 405


@pytest.mark.parametrize(
    "value", ["1e999999999", "-1E+999999999", "1000000000000000", "1e15"]
)
def test_a_value_too_large_to_store_is_a_row_error(value):
    # abs() of 1e999999999 raised decimal.Overflow (a 500).
    assert messages_of(f"2024-03-01,{value}\n") == [
        f"Line 1: '{value}' is too large (at most 15 digits before the point)"
    ]


def test_a_value_that_rounding_would_have_made_too_large_is_refused():
    # Rounded to 4 places it was 10^15, which the database cannot hold; it is no
    # longer rounded, so it is refused for its fifth decimal place.
    assert messages_of("2024-03-01,999999999999999.99999\n") == [
        "Line 1: '999999999999999.99999' has more than 4 decimal places"
    ]

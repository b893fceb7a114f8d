import pytest
from django.urls import reverse, set_script_prefix

from landmark.lib.urls import reverse_one


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("objective", 1),
        ("objective", 40128),
        ("kpi", 7301946285),  # the marker itself
        ("unsubscribe", "eyJ1IjoxNywibyI6M30:1tX9Qq:Abc-_def"),
    ],
)
def test_it_gives_what_reverse_gives(name, value):
    assert reverse_one(name, value) == reverse(name, args=[value])


def test_a_value_reverse_would_quote_goes_through_reverse():
    value = "a b%c"
    assert reverse_one("unsubscribe", value) == reverse("unsubscribe", args=[value])
    assert "%20" in reverse_one("unsubscribe", value)


def test_it_follows_the_script_prefix():
    try:
        set_script_prefix("/landmark/")
        assert reverse_one("objective", 5) == reverse("objective", args=[5])
        assert reverse_one("objective", 5).startswith("/landmark/")
    finally:
        set_script_prefix("/")
    assert reverse_one("objective", 5) == reverse("objective", args=[5])

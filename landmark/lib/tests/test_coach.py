"""The coach's word checks (landmark/lib/coach.py), on examples from the seed
articles."""

from decimal import Decimal

from landmark.lib import coach

D = Decimal


def test_every_rule_has_an_id_a_severity_a_line_and_a_source():
    assert len(coach.RULES) == len(coach.BY_ID) == 13
    for rule in coach.RULES:
        assert rule.id == rule.id.lower() and " " not in rule.id
        assert rule.severity in (coach.Severity.INFO, coach.Severity.WARNING)
        assert rule.explanation.endswith(".") and "\n" not in rule.explanation
        assert rule.source.article in {"000", "001", "002", "003", "004"}
        assert rule.source.quote


def test_a_task_reads_like_an_initiative_a_measure_does_not():
    assert coach.reads_like_initiative("Launch the new website")
    assert coach.reads_like_initiative("Hold a webinar for partners")
    assert coach.reads_like_initiative("Write the onboarding guide")
    # Seed article 000's key results: each has a measure.
    assert not coach.reads_like_initiative(
        "Launch virtual midwest road show tour in three cities by 6/20/2020"
    )
    assert not coach.reads_like_initiative("Increase website traffic by 40%")
    assert not coach.reads_like_initiative("Reach 45,000 monthly visitors")
    assert not coach.reads_like_initiative("")


def test_a_date_is_not_a_measure():
    assert coach.reads_like_initiative("Launch the new website by 6/20/2020")


def test_numbers_in_an_objective_but_not_a_year_or_a_quarter():
    assert coach.has_numbers("Increase revenue by 20%")
    assert coach.has_numbers("Close $5 million in new business")
    assert not coach.has_numbers("Increase Brand Awareness in the Midwest")
    assert not coach.has_numbers("Win the mid-market in 2027")
    assert not coach.has_numbers("Make Q3 our best quarter")


def test_words_and_numbers_that_go_opposite_ways():
    assert coach.wrong_way("Increase monthly visitors", D(45000), D(30000))
    assert coach.wrong_way("Grow revenue", D(100), D(100))
    assert coach.wrong_way("Reduce reply time to 30 minutes", D(52), D(60))
    assert not coach.wrong_way("Reduce reply time to 30 minutes", D(52), D(30))
    assert not coach.wrong_way("Increase monthly visitors", D(30000), D(45000))
    assert not coach.wrong_way("Monthly visitors", D(45000), D(30000))
    assert not coach.wrong_way("Increase monthly visitors", None, D(1))


def test_key_result_count_against_the_thresholds():
    t = coach.Thresholds()
    assert coach.kr_count_message(0, t) == "It has no key results; aim for 2 to 5."
    assert coach.kr_count_message(1, t) == "It has only 1 key result; aim for 2 to 5."
    assert coach.kr_count_message(6, t) == "It has 6 key results; aim for 2 to 5."
    assert all(coach.kr_count_message(n, t) is None for n in range(2, 6))
    strict = coach.Thresholds(min_key_results=3, max_key_results=3)
    assert coach.kr_count_message(2, strict) == (
        "It has only 2 key results; aim for 3."
    )


def test_titles_compare_without_case_and_punctuation():
    assert coach.same_title("Keep customers happy!") == coach.same_title(
        "keep  customers happy"
    )

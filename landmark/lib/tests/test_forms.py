"""Form helpers shared by the apps."""

import pytest
from django import forms

from landmark.lib.forms import limit_choices
from landmark.orgs.models import Team


class TeamForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all())
    name = forms.CharField()


def test_a_model_choice_is_limited_to_the_rows_given(db):
    form = TeamForm()
    limit_choices(form, "team", Team.objects.none())

    field = form.fields["team"]
    assert isinstance(field, forms.ModelChoiceField)
    assert field.queryset is not None
    assert not field.queryset.exists()


def test_limiting_a_field_that_offers_no_rows_is_refused_with_a_message():
    with pytest.raises(TypeError, match="'name' is a CharField, not a model choice"):
        limit_choices(TeamForm(), "name", Team.objects.none())


def test_a_quick_select_writes_what_djangos_select_writes_escaped():
    """QuickSelect writes a select's options in one pass: the same choice selected,
    every label and value escaped, the field's attributes kept."""
    from django import forms as django_forms

    from landmark.lib.forms import QuickSelect

    choices = [("", "Anyone"), ("1", "Ada <b>Admin</b>"), ('2"><script>', "Bob & co")]

    class Form(django_forms.Form):
        who = django_forms.ChoiceField(
            choices=choices, widget=QuickSelect, required=False
        )

    html = str(Form({"who": "1"})["who"])
    assert html.startswith('<select name="who" id="id_who">')
    assert '<option value="1" selected>Ada &lt;b&gt;Admin&lt;/b&gt;</option>' in html
    assert '<option value="">Anyone</option>' in html
    assert '<option value="2&quot;&gt;&lt;script&gt;">Bob &amp; co</option>' in html
    assert "<script>" not in html and "<b>" not in html
    # The same options, in the same order, as Django's own select.
    plain = str(
        type(
            "Plain",
            (django_forms.Form,),
            {"who": django_forms.ChoiceField(choices=choices, required=False)},
        )({"who": "1"})["who"]
    )
    import re

    options = re.compile(r"<option value=\"([^\"]*)\"( selected)?>([^<]*)</option>")
    assert options.findall(html) == options.findall(plain)

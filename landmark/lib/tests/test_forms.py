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

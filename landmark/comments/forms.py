from typing import Any

from django import forms

from landmark.comments.models import MAX_LENGTH
from landmark.okrs.models import KeyResult


class CommentForm(forms.Form):
    """A comment's text; on an objective's page, also what it is on: the objective
    or one of its key results."""

    body = forms.CharField(
        label="Comment",
        max_length=MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Write something first.",
            "max_length": f"A comment holds at most {MAX_LENGTH:,} characters "
            "(this one has %(show_value)d).",
        },
        help_text="Plain text. Mention someone with @ and the part of their email "
        "before the @ (e.g. @sam).",
    )
    on = forms.TypedChoiceField(
        label="On", required=False, coerce=int, empty_value=None, choices=()
    )

    def __init__(
        self, *args: Any, key_results: list[KeyResult] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        on = self.fields["on"]
        if key_results and isinstance(on, forms.ChoiceField):
            on.choices = [
                ("", "The objective"),
                *((kr.pk, f"Key result: {kr.title}") for kr in key_results),
            ]
        else:
            del self.fields["on"]

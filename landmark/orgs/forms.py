from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password

from landmark.lib.forms import limit_choices
from landmark.orgs.models import Membership, Team, TeamMember, User


class UserMultipleChoiceField(forms.ModelMultipleChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class TeamForm(forms.ModelForm[Team]):
    members = UserMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    leads = UserMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leads are members too.",
    )

    class Meta:
        model = Team
        fields = ["name", "kind", "parent"]
        labels = {"parent": "Part of"}

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        org = membership.organization
        users = User.objects.filter(
            memberships__organization=org, memberships__is_active=True
        ).order_by("full_name")
        limit_choices(self, "members", users)
        limit_choices(self, "leads", users)
        parents = Team.objects.filter(organization=org)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
            rows = TeamMember.objects.filter(team=self.instance)
            self.initial["members"] = [r.user_id for r in rows]
            self.initial["leads"] = [r.user_id for r in rows if r.is_lead]
        limit_choices(self, "parent", parents)


class MemberAddForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(
        choices=Membership.Role.choices, initial=Membership.Role.MEMBER
    )
    password = forms.CharField(
        widget=forms.PasswordInput,
        required=False,
        help_text="Initial password for a new account; they can change it later. "
        "Leave empty when the person already has a Landmark account.",
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.filter(organization=membership.organization)
        limit_choices(self, "teams", teams)
        self.membership = membership

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        email = (data.get("email") or "").lower()
        if not email:
            return data
        existing = User.objects.filter(email=email).first()
        if existing is None:
            password = data.get("password")
            if not password:
                self.add_error(
                    "password", "Set an initial password for this new account."
                )
            else:
                try:
                    validate_password(
                        password, User(email=email, full_name=data.get("full_name", ""))
                    )
                except forms.ValidationError as error:
                    self.add_error("password", error)
        elif Membership.objects.filter(
            organization=self.membership.organization, user=existing
        ).exists():
            self.add_error(
                "email", "This person is already a member of the organization."
            )
        return data


class MemberEditForm(forms.ModelForm[Membership]):
    class Meta:
        model = Membership
        fields = ["role", "is_active"]
        labels = {"is_active": "Active (can log in to this organization)"}


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(
        choices=Membership.Role.choices, initial=Membership.Role.MEMBER
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They join these teams when they accept.",
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_choices(
            self, "teams", Team.objects.filter(organization=membership.organization)
        )


class AcceptInvitationForm(forms.Form):
    """A new account for the invited address (the password rules run in the action)."""

    full_name = forms.CharField(label="Your name", max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(
        label="Password again", widget=forms.PasswordInput, strip=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_again") != data["password"]:
            self.add_error("password_again", "The two passwords are not the same.")
        return data

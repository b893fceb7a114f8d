from typing import Any, cast

from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.base.forms import AuthenticateForm as AllauthAuthenticateForm
from allauth.mfa.base.forms import ReauthenticateForm as AllauthReauthenticateForm
from django import forms
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from landmark.lib import coach, numbers, outbound
from landmark.lib.forms import QuickSelect, limit_choices
from landmark.orgs import actions, throttle
from landmark.orgs.account_mail import PENDING_EMAIL_KEY
from landmark.orgs.middleware import SESSION_KEY
from landmark.orgs.models import (
    TIME_ZONE_MESSAGE,
    Membership,
    Organization,
    Team,
    TeamMember,
    User,
    time_zones,
)


class UserChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


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


def gap_field(label: str, help_text: str) -> forms.DecimalField:
    # No min/max validators: Organization.clean says what is wrong in words (the
    # widget's min and max only help the browser).
    return forms.DecimalField(
        label=label,
        max_digits=4,
        decimal_places=2,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"min": "0", "max": "1", "step": "0.01"}),
    )


def coach_number(label: str, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, help_text=help_text, widget=forms.NumberInput(attrs={"min": "1"})
    )


class OrganizationSettingsForm(forms.ModelForm[Organization]):
    """The organization's settings (admins); Organization.clean checks the time zone
    and the order of the pace thresholds."""

    # ~600 time zones and ~1,150 locales: written in one pass (lib/forms.QuickSelect);
    # through Django's template per option the page took a second to render.
    time_zone = forms.ChoiceField(
        widget=QuickSelect,
        label="Time zone",
        help_text="Check-in reminders, the weekly digest, connector schedules and “this week” follow it.",
        error_messages={"invalid_choice": TIME_ZONE_MESSAGE},
    )
    on_track_gap = gap_field(
        "On-track gap",
        "A key result is on track while it is at most this far behind pace (0.10: 10 points of progress behind where time says it should be).",
    )
    off_track_gap = gap_field(
        "Off-track gap",
        "Further behind than this, it is off track; in between, it needs attention. Between the on-track gap and 1.",
    )
    checkin_cadence_days = forms.IntegerField(
        label="Check-in cadence (days)",
        min_value=1,
        max_value=90,
        help_text="How often owners are expected to check in on a key result.",
    )
    locale = forms.ChoiceField(
        widget=QuickSelect,
        label="Number format",
        help_text="How numbers, currencies and percentages are written on pages, charts and emails (e.g. $8.8M in English (United States), 8,8 Mio. $ in German (Germany)).",
        error_messages={
            "invalid_choice": "Not a locale Landmark knows; choose one from the list (en_US, de_DE, fr…)."
        },
    )
    checkin_grace_days = forms.IntegerField(
        label="Grace (days)",
        min_value=0,
        max_value=30,
        help_text="Days after the cadence before a key result without a check-in is stale.",
    )

    # The coach (docs/coach.md): rules to turn off, and the numbers they use. No
    # min/max validators: Organization.clean says what is wrong in words.
    coach_rules_off = forms.MultipleChoiceField(
        label="Coach rules turned off",
        required=False,
        choices=[(r.id, f"{r.name} ({r.id})") for r in coach.RULES],
        widget=forms.CheckboxSelectMultiple,
        help_text="Ticked rules give no findings on the coach page, objectives and KPIs.",
        error_messages={
            "invalid_choice": "Not a coach rule: %(value)s. Choose from the list."
        },
    )
    coach_min_key_results = coach_number(
        "Fewest key results per objective",
        "Fewer is a finding (rule kr-count); the articles say three to five.",
    )
    coach_max_key_results = coach_number(
        "Most key results per objective", "More is a finding (rule kr-count)."
    )
    coach_max_team_objectives = coach_number(
        "Most objectives per team in a period",
        "More is a finding (rule team-objectives).",
    )
    coach_max_key_kpis = coach_number(
        "Most key KPIs per team", "More is a finding (rule team-key-kpis)."
    )

    COACH_FIELDS = (
        "coach_rules_off",
        "coach_min_key_results",
        "coach_max_key_results",
        "coach_max_team_objectives",
        "coach_max_key_kpis",
    )

    class Meta:
        model = Organization
        fields = [
            "name",
            "time_zone",
            "week_start",
            "on_track_gap",
            "off_track_gap",
            "checkin_cadence_days",
            "checkin_grace_days",
            "locale",
            "coach_rules_off",
            "coach_min_key_results",
            "coach_max_key_results",
            "coach_max_team_objectives",
            "coach_max_key_kpis",
        ]
        labels = {"week_start": "Week starts on"}
        help_texts = {
            "week_start": "My focus asks for a check-in on each key result not checked in since the week began."
        }

    def __init__(self, *args: Any, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zones = cast(forms.ChoiceField, self.fields["time_zone"])
        zones.choices = [(zone, zone) for zone in time_zones()]
        locales = cast(forms.ChoiceField, self.fields["locale"])
        locales.choices = numbers.locale_choices()
        self.initial["coach_rules_off"] = coach.split_rules(
            self.instance.coach_rules_off
        )
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    def clean_coach_rules_off(self) -> str:
        return coach.join_rules(self.cleaned_data.get("coach_rules_off") or [])

    def general_fields(self) -> list[forms.BoundField]:
        return [f for f in self.visible_fields() if f.name not in self.COACH_FIELDS]

    def coach_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.COACH_FIELDS]


def offer_roles(form: forms.BaseForm, actor: Membership) -> None:
    """The roles `actor` may give: the owner role only if they are an owner."""
    if actor.is_owner:
        return
    field = cast(forms.ChoiceField, form.fields["role"])
    field.choices = [
        (value, label)
        for value, label in Membership.Role.choices
        if value != Membership.Role.OWNER
    ]
    field.help_text = "Only an owner can make someone an owner."
    field.error_messages["invalid_choice"] = (
        "Choose one of the roles listed: only an owner can make someone an owner."
    )


class MemberEditForm(forms.ModelForm[Membership]):
    class Meta:
        model = Membership
        fields = ["role", "is_active"]
        labels = {"is_active": "Active (can log in to this organization)"}

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_roles(self, actor)


class InviteForm(forms.Form):
    """Adding someone to the organization: always an invitation they accept."""

    email = forms.EmailField(
        help_text="They get an email with a link; they become a member when they "
        "accept it, with their existing Landmark account or a new one."
    )
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
        offer_roles(self, membership)


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


class SignupForm(AllauthSignupForm):
    """allauth's sign-up with the person's name and their new organization's name.

    Saving is one transaction: the account, its email address, the organization, its
    owner membership and first period are all saved, or none of them."""

    full_name = forms.CharField(label="Your name", max_length=150)
    organization = forms.CharField(
        label="Organization name",
        max_length=120,
        help_text="You become its owner and can invite your colleagues.",
    )
    field_order = ["full_name", "organization", "email", "password1", "password2"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "password1" in self.fields:
            # allauth's help is HTML; the shared form template prints plain text.
            self.fields["password1"].help_text = (
                "At least 8 characters, not only digits, not a common password "
                "and not too close to your name or email."
            )

    def clean_organization(self) -> str:
        name = str(self.cleaned_data["organization"]).strip()
        if not name:
            raise forms.ValidationError("Enter your organization's name.")
        return name

    def try_save(self, request: HttpRequest) -> tuple[User | None, HttpResponse | None]:
        """A taken address (ACCOUNT_PREVENT_ENUMERATION): allauth creates nothing,
        mails the address's owner and answers as for a new account. Hashing the
        password as a new account would keeps the answer's timing alike too."""
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1"))
        # The "check your email" page names the address and can send it again, the
        # same way whether or not the address already had an account.
        request.session[PENDING_EMAIL_KEY] = self.cleaned_data["email"]
        return cast(tuple[User | None, HttpResponse | None], super().try_save(request))

    def save(self, request: HttpRequest) -> User:
        with transaction.atomic():
            user = cast(User, super().save(request))
            user.full_name = self.cleaned_data["full_name"].strip()
            user.save(update_fields=["full_name"])
            org = actions.start_organization(
                name=self.cleaned_data["organization"],
                owner=user,
                today=timezone.localdate(),
            )
        request.session[SESSION_KEY] = org.pk
        return user


class SSOForm(forms.Form):
    server_url = forms.URLField(
        label="Issuer URL",
        max_length=500,
        assume_scheme="https",
        help_text="Your identity provider's issuer, e.g. https://login.acme.com/realms/acme "
        "(Landmark reads /.well-known/openid-configuration under it).",
    )
    client_id = forms.CharField(label="Client ID", max_length=191)
    client_secret = forms.CharField(
        label="Client secret",
        max_length=191,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored secret.",
    )
    domains = forms.CharField(
        label="Email domains",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Domains your organization owns, e.g. acme.com (several: separate "
        "with commas). Each works only once you prove you own it with a DNS record; "
        "public and free-mail domains (gmail.com, …) cannot be claimed.",
    )
    enabled = forms.BooleanField(label="Single sign-on is on", required=False)

    def clean_server_url(self) -> str:
        url = str(self.cleaned_data["server_url"])
        try:
            outbound.check_url(url)
        except outbound.Refused as refused:
            raise forms.ValidationError(refused.reason) from refused
        return url

    def clean_domains(self) -> list[str]:
        try:
            return actions.parse_domains(self.cleaned_data["domains"])
        except forms.ValidationError as error:
            raise forms.ValidationError(error.message_dict["domains"]) from error


class NewOrganizationForm(forms.Form):
    organization = forms.CharField(label="Organization name", max_length=120)


class SSOLoginForm(forms.Form):
    email = forms.EmailField(label="Work email")


class ThrottledCodeMixin:
    """Two-factor code entry (allauth's forms), throttled by throttle.code_lock: while
    locked, the page answers 429 before any code is checked, even the right one; each
    wrong code is counted, a right one clears this address's count."""

    user: User

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Landmark's words for allauth's bare "Code" (the fields are allauth's).
        fields: dict[str, forms.Field] = self.fields  # type: ignore[attr-defined]  # the mixin sits on a Form
        fields["code"].label = "Two-factor code"
        fields[
            "code"
        ].help_text = "The 6 digits your authenticator app shows, or a recovery code."
        fields["code"].widget.attrs.pop("placeholder", None)
        self.ip_address = (
            throttle.client_ip(context.request) or throttle.UNKNOWN_ADDRESS
        )
        self.refuse_if_locked()

    def refuse_if_locked(self) -> None:
        lock = throttle.code_lock(self.user, self.ip_address)
        if lock is not None:
            raise ImmediateHttpResponse(
                throttle.code_lockout_response(context.request, lock)
            )

    def clean_code(self) -> str:
        error: forms.ValidationError | None = None
        with transaction.atomic():
            # One code check per account at a time (a row lock on PostgreSQL, the
            # write lock on SQLite): parallel guesses cannot all slip under the limit.
            list(User.objects.select_for_update().filter(pk=self.user.pk).values("pk"))
            self.refuse_if_locked()
            try:
                code = str(super().clean_code())  # type: ignore[misc]  # allauth's form
            except forms.ValidationError as wrong:
                error = wrong
                actions.record_code_failure(user=self.user, ip_address=self.ip_address)
            else:
                actions.clear_code_failures(user=self.user, ip_address=self.ip_address)
        if error is not None:
            raise error
        return code


class AuthenticateForm(ThrottledCodeMixin, AllauthAuthenticateForm):
    """The code step of logging in (MFA_FORMS["authenticate"])."""


class ReauthenticateForm(ThrottledCodeMixin, AllauthReauthenticateForm):
    """A code asked again before a sensitive change (MFA_FORMS["reauthenticate"])."""

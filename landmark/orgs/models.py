"""Organizations (tenants), their team tree, users and memberships."""

import functools
import hashlib
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar, cast
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from simple_history.models import HistoricalRecords
from tree_queries.query import TreeQuerySet

from landmark.lib import coach, numbers
from landmark.lib.encryption import SealedField
from landmark.lib.history import TenantHistoricalRecords


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(
        self, email: str, password: str | None = None, **extra: Any
    ) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(
        self, email: str, password: str | None = None, **extra: Any
    ) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address; belongs to organizations via Membership."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Raised to end every session of this user at once (see _get_session_auth_hash).
    session_version = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django stores this hash in each session and flushes a session whose hash no
        longer matches (that is how a password change logs out other browsers). Mixing
        in `session_version` lets `end_sessions` do the same without a password change,
        whatever the session backend. Version 0 keeps Django's own hash, so sessions
        made before this field existed stay valid.
        """
        value = self.password
        if self.session_version:
            value = f"{value}:{self.session_version}"
        return salted_hmac(
            # Django's own salt, so version 0 gives exactly Django's hash.
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            value,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def initials(self) -> str:
        parts = self.display_name.split()
        return "".join(p[0] for p in parts[:2]).upper() or "?"


def validate_locale(value: str) -> None:
    if not numbers.is_known_locale(value):
        raise ValidationError(
            f"“{value}” is not a locale Landmark knows; write it as en_US, de_DE or fr.",
            code="unknown_locale",
        )


def default_time_zone() -> str:
    return str(settings.TIME_ZONE)


@functools.cache
def time_zones() -> list[str]:
    """Every IANA time zone name this machine knows, sorted."""
    return sorted(available_timezones())


TIME_ZONE_MESSAGE = "Not a time zone Landmark knows: use an IANA name such as Europe/Paris or America/New_York."


class Weekday(models.IntegerChoices):
    """Days of the week as Python numbers them (date.weekday())."""

    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Organization(models.Model):
    """The tenant: every other record belongs to exactly one organization.

    Its settings (docs/members.md, "Organization settings") are changed by admins on
    the Settings → Organization page or PATCH /api/v1/organization; every change is
    kept in its history (who, when, what)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # An IANA name: reminders, the digest, connector schedules and "this week" follow it.
    time_zone = models.CharField("time zone", max_length=64, default=default_time_zone)
    # When the time zone last changed: a reminder or digest due before then under the
    # new zone is not sent late (as when an admin moves the schedule itself).
    time_zone_changed_at = models.DateTimeField(null=True, blank=True)
    # The day a week starts ("checked in this week", My focus).
    week_start = models.PositiveSmallIntegerField(
        "week starts on", choices=Weekday.choices, default=Weekday.MONDAY
    )
    # Pace thresholds (docs/okrs.md, "Status"): d = p - τ; on track if d >= -on_track_gap.
    on_track_gap = models.DecimalField(
        "on-track gap", max_digits=4, decimal_places=2, default=Decimal("0.10")
    )
    off_track_gap = models.DecimalField(
        "off-track gap", max_digits=4, decimal_places=2, default=Decimal("0.25")
    )
    checkin_cadence_days = models.PositiveSmallIntegerField(
        "check-in cadence (days)", default=7
    )
    checkin_grace_days = models.PositiveSmallIntegerField("grace (days)", default=3)
    # How numbers read on its pages, emails and charts (landmark/lib/numbers.py).
    locale = models.CharField(
        "number format",
        max_length=20,
        default=numbers.DEFAULT_LOCALE,
        validators=[validate_locale],
        help_text="How numbers and currencies are written, e.g. en_US or de_DE.",
    )
    # The coach (docs/coach.md): the rules turned off (their ids, comma-separated:
    # lib.coach.join_rules) and the numbers the rules use (lib.coach.Thresholds).
    coach_rules_off = models.CharField(
        "coach rules turned off", max_length=400, blank=True, default=""
    )
    coach_min_key_results = models.PositiveSmallIntegerField(
        "fewest key results per objective", default=coach.Thresholds.min_key_results
    )
    coach_max_key_results = models.PositiveSmallIntegerField(
        "most key results per objective", default=coach.Thresholds.max_key_results
    )
    coach_max_team_objectives = models.PositiveSmallIntegerField(
        "most objectives per team and period",
        default=coach.Thresholds.max_team_objectives,
    )
    coach_max_key_kpis = models.PositiveSmallIntegerField(
        "most key KPIs per team", default=coach.Thresholds.max_key_kpis
    )
    # When an admin hid the getting-started checklist on My focus (okrs/onboarding.py).
    getting_started_dismissed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(
        excluded_fields=[
            "slug",
            "created_at",
            "time_zone_changed_at",
            "getting_started_dismissed_at",
        ]
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(on_track_gap__gte=0)
                & models.Q(off_track_gap__lte=1)
                & models.Q(on_track_gap__lt=models.F("off_track_gap")),
                name="pace_thresholds_in_order",
                violation_error_message="The pace thresholds must be in order: "
                "0 ≤ on-track gap < off-track gap ≤ 1.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A known time zone, and the pace thresholds in order: 0 ≤ on-track gap <
        off-track gap ≤ 1 (the form, the API and the action all ask this)."""
        errors: dict[str, str] = {}
        if self.time_zone not in time_zones():
            errors["time_zone"] = TIME_ZONE_MESSAGE
        on, off = self.on_track_gap, self.off_track_gap
        if on is not None and not Decimal(0) <= on < 1:
            errors["on_track_gap"] = (
                "Use a share between 0 and 1, e.g. 0.10 for 10 points behind pace."
            )
        if off is not None and not Decimal(0) < off <= 1:
            errors["off_track_gap"] = (
                "Use a share above 0 and at most 1, e.g. 0.25 for 25 points behind pace."
            )
        if not {"on_track_gap", "off_track_gap"} & set(errors) and (
            on is not None and off is not None and on >= off
        ):
            errors["off_track_gap"] = (
                f"Must be larger than the on-track gap ({on:.2f}): a key result is off "
                "track only when it is further behind pace than “needs attention”."
            )
        errors.update(self.coach_errors())
        if errors:
            raise ValidationError(errors)

    def coach_errors(self) -> dict[str, str]:
        """The coach's settings: known rule ids, thresholds within their limits, and
        the fewest key results no more than the most."""
        errors: dict[str, str] = {}
        off = coach.split_rules(self.coach_rules_off)
        if unknown := sorted(set(off) - set(coach.RULE_IDS)):
            errors["coach_rules_off"] = (
                f"Not coach rules: {', '.join(unknown)}. The rules are: "
                f"{', '.join(coach.RULE_IDS)}."
            )
        for name, (low, high) in coach.THRESHOLD_LIMITS.items():
            value = getattr(self, f"coach_{name}")
            if value is None or not low <= value <= high:
                errors[f"coach_{name}"] = f"Use a whole number from {low} to {high}."
        low_kr, high_kr = self.coach_min_key_results, self.coach_max_key_results
        if (
            not {"coach_min_key_results", "coach_max_key_results"} & set(errors)
            and low_kr > high_kr
        ):
            errors["coach_max_key_results"] = (
                f"Must be at least the fewest key results per objective ({low_kr})."
            )
        return errors

    def coach_settings(self) -> coach.Settings:
        return coach.Settings(
            off=frozenset(coach.split_rules(self.coach_rules_off)),
            thresholds=coach.Thresholds(
                min_key_results=self.coach_min_key_results,
                max_key_results=self.coach_max_key_results,
                max_team_objectives=self.coach_max_team_objectives,
                max_key_kpis=self.coach_max_key_kpis,
            ),
        )


class Team(models.Model):
    """A department or team; teams form a tree (company → departments → teams).

    Tree reads (ancestors, descendants, depth) are recursive CTEs from
    django-tree-queries' TreeQuerySet: one query whatever the depth.
    """

    class Kind(models.TextChoices):
        COMPANY = "company", "Company"
        DEPARTMENT = "department", "Department"
        TEAM = "team", "Team"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="teams"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TEAM)
    created_at = models.DateTimeField(default=timezone.now)

    objects = models.Manager["Team"]()
    # Recursive-CTE reads (descendants, ancestors, tree depth). Typed as Any because
    # django-tree-queries ships no type hints; `objects` stays the typed default.
    tree: Any = TreeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="team_name_unique_in_org"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def org_tree(self) -> Any:
        """Tree queries over this organization's teams only (the CTE never ranks
        another organization's rows)."""
        return Team.tree.tree_filter(organization_id=self.organization_id)

    def descendants(self, *, include_self: bool = False) -> "models.QuerySet[Team]":
        return cast(
            "models.QuerySet[Team]",
            self.org_tree().descendants(self, include_self=include_self),
        )

    def ancestors(self, *, include_self: bool = False) -> "models.QuerySet[Team]":
        return cast(
            "models.QuerySet[Team]",
            self.org_tree().ancestors(self, include_self=include_self),
        )


class Membership(models.Model):
    """A user's membership in an organization, with a role."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = TenantHistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="one_membership_per_org"
            )
        ]
        indexes = [
            # The API's list in its default order, a page without sorting them all.
            models.Index(
                fields=["organization", "created_at", "id"],
                name="membership_org_created",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.is_active and self.role != self.Role.VIEWER

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.role in {self.Role.OWNER, self.Role.ADMIN}

    @property
    def is_owner(self) -> bool:
        return self.is_active and self.role == self.Role.OWNER


class TeamMember(models.Model):
    """A user's place in a team; `is_lead` marks the team's leads."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="team_members"
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="team_memberships"
    )
    is_lead = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_team_member_row")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}{' (lead)' if self.is_lead else ''}"


INVITATION_LIFETIME = timedelta(days=7)


def hash_token(raw: str) -> str:
    """What an invitation stores instead of its token: a leaked database gives no link."""
    return hashlib.sha256(raw.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open(self) -> "InvitationQuerySet":
        """Neither accepted nor revoked (possibly expired)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)

    def pending(self) -> "InvitationQuerySet":
        """Open and not expired: the link still works."""
        return self.open().filter(expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An invitation by email to join an organization with a role and teams.

    Only the SHA-256 of the token is stored; the raw token exists only in the email
    link. At most one open invitation per organization and address.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        EXPIRED = "expired", "Expired"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    teams: "models.ManyToManyField[Team, InvitationTeam]" = models.ManyToManyField(
        Team, through="InvitationTeam", related_name="+", blank=True
    )
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization} ({self.role})"

    @property
    def status(self) -> "Invitation.Status":
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING


class InvitationTeam(models.Model):
    """A team the invited person joins on accepting (a tenant row like any other)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE)
    team = models.ForeignKey(Team, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invitation", "team"], name="one_invitation_team_row"
            )
        ]

    def __str__(self) -> str:
        return f"{self.invitation} joins {self.team}"


class OrganizationSSO(models.Model):
    """An organization's OpenID Connect single sign-on.

    The provider itself is an allauth SocialApp (provider "openid_connect",
    provider_id "org-<organization id>"); this row ties it to the organization and
    says whether it is on. People whose email domain is one of the organization's
    SSODomain rows are sent to this provider by "Sign in with SSO".
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="sso"
    )
    social_app = models.OneToOneField(
        "socialaccount.SocialApp", on_delete=models.CASCADE, related_name="+"
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # The OAuth client secret, encrypted; the SocialApp's own `secret` column stays
    # empty. The adapter hands it to allauth in clear, in memory, when a login needs it.
    client_secret = SealedField(null=True, blank=True)

    def __str__(self) -> str:
        return f"SSO of {self.organization}"

    @property
    def provider_id(self) -> str:
        return str(self.social_app.provider_id)


class SSODomainQuerySet(models.QuerySet["SSODomain"]):
    def verified(self) -> "SSODomainQuerySet":
        return self.filter(verified_at__isnull=False)


class SSODomain(models.Model):
    """An email domain an organization claims for its SSO.

    A claim does nothing until it is verified: the organization proves it owns the
    domain with a DNS TXT record carrying `token` (landmark/lib/domains.py). Several
    organizations may have a pending claim on the same domain; only one can hold it
    verified (the database refuses a second)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sso_domains"
    )
    sso = models.ForeignKey(
        OrganizationSSO, on_delete=models.CASCADE, related_name="domains"
    )
    domain = models.CharField(max_length=253)
    # Per organization and domain; public once it is in DNS, so not a secret.
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # What the last check found, in plain words ("" before the first check).
    check_result = models.CharField(max_length=300, blank=True)

    objects = SSODomainQuerySet.as_manager()

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "domain"], name="one_claim_per_org_and_domain"
            ),
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(verified_at__isnull=False),
                name="one_verified_claim_per_domain",
            ),
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class CodeFailure(models.Model):
    """A wrong two-factor code (authenticator app or recovery code) typed for `user`
    from `ip_address`: what landmark/orgs/throttle.py counts to refuse code guessing.
    Rows older than the cool-off are deleted as new ones come."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    ip_address = models.GenericIPAddressField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["user", "at"], name="code_failure_user_at"),
            models.Index(fields=["at"], name="code_failure_at"),
        ]

    def __str__(self) -> str:
        return f"wrong code for {self.user_id} from {self.ip_address} at {self.at}"

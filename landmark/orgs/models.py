"""Organizations (tenants), their team tree, users and memberships."""

from decimal import Decimal
from typing import Any, ClassVar, cast

from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords
from tree_queries.query import TreeQuerySet


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

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]

    @property
    def initials(self) -> str:
        parts = self.display_name.split()
        return "".join(p[0] for p in parts[:2]).upper() or "?"


class Organization(models.Model):
    """The tenant: every other record belongs to exactly one organization."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Pace thresholds (PRODUCT.md §2): d = p - τ; on track if d >= -on_track_gap.
    on_track_gap = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("0.10")
    )
    off_track_gap = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("0.25")
    )
    checkin_cadence_days = models.PositiveSmallIntegerField(default=7)
    checkin_grace_days = models.PositiveSmallIntegerField(default=3)

    def __str__(self) -> str:
        return self.name


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

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="one_membership_per_org"
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

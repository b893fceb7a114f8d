"""Every write on organizations, teams and memberships; one transaction each."""

import re
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from landmark.lib.domains import (
    LookupFailed,
    proves,
    record_name,
    unclaimable_reason,
)
from landmark.lib.encryption import Sealed
from landmark.orgs.access import OWNER_ROLE_ONLY, OWNERS_ONLY
from landmark.orgs.models import (
    INVITATION_LIFETIME,
    CodeFailure,
    Invitation,
    InvitationTeam,
    Membership,
    Organization,
    OrganizationSSO,
    SSODomain,
    Team,
    TeamMember,
    User,
    hash_token,
)
from landmark.orgs.signals import member_joined, organization_started
from landmark.orgs.sso import PROVIDER, provider_id_for

# Builds the absolute accept link for a raw token (views pass one made from
# request.build_absolute_uri, so the link names the host the admin used).
LinkBuilder = Callable[[str], str]


@transaction.atomic
def create_organization(*, name: str, owner: User, slug: str = "") -> Organization:
    base = slugify(slug or name)[:50] or "org"
    candidate, n = base, 1
    while Organization.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    org = Organization.objects.create(name=name, slug=candidate)
    Membership.objects.create(organization=org, user=owner, role=Membership.Role.OWNER)
    Team.objects.create(organization=org, name=name, kind=Team.Kind.COMPANY)
    return org


@transaction.atomic
def start_organization(*, name: str, owner: User, today: date) -> Organization:
    """A new organization from the sign-up page, ready to use: its owner, its company
    team and an active period for the current quarter (objectives need a period: okrs
    adds it when told `organization_started`, in this transaction)."""
    name = name.strip()
    if not name:
        raise ValidationError({"organization": "Enter your organization's name."})
    org = create_organization(name=name, owner=owner)
    organization_started.send(sender=Organization, organization=org, today=today)
    return org


def mark_email_verified(*, user: User) -> None:
    """Record the user's address as verified and primary (allauth's EmailAddress):
    for accounts whose address something else already proved (an invitation link,
    the operator's command line, the demo)."""
    email = user.email.lower()
    EmailAddress.objects.filter(user=user).exclude(email__iexact=email).update(
        primary=False
    )
    updated = EmailAddress.objects.filter(user=user, email__iexact=email).update(
        verified=True, primary=True
    )
    if not updated:
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)


SETTINGS = (
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
)


@transaction.atomic
def update_organization(
    *, org: Organization, by: User | None, **changes: object
) -> Organization:
    """Change the organization's settings (those given: callers pass what changed);
    the change is kept in its history with `by` as its author. A new time zone counts from now: reminders
    and digests already past in the new zone are not sent late."""
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise TypeError(f"Not organization settings: {sorted(unknown)}")
    if not changes:
        return org
    changed = list(changes)
    for name, value in changes.items():
        setattr(org, name, value)
    org.clean()
    if "time_zone" in changed:
        org.time_zone_changed_at = timezone.now()
        changed.append("time_zone_changed_at")
    org._history_user = by  # type: ignore[attr-defined]  # read by simple-history
    org.save(update_fields=changed)
    return org


@transaction.atomic
def create_team(
    *,
    org: Organization,
    name: str,
    kind: str = Team.Kind.TEAM,
    parent: Team | None = None,
    members: list[User] | None = None,
    leads: list[User] | None = None,
) -> Team:
    if parent is not None and parent.organization_id != org.pk:
        raise ValidationError({"parent": "That team does not exist."})
    if Team.objects.filter(organization=org, name__iexact=name).exists():
        raise ValidationError({"name": "There is already a team with this name."})
    team = Team.objects.create(organization=org, name=name, kind=kind, parent=parent)
    if members or leads:
        set_team_members(team=team, members=members or [], leads=leads or [])
    return team


@transaction.atomic
def update_team(
    *,
    team: Team,
    name: str,
    kind: str,
    parent: Team | None,
    members: list[User] | None = None,
    leads: list[User] | None = None,
) -> Team:
    if parent is not None:
        if parent.organization_id != team.organization_id:
            raise ValidationError({"parent": "That team does not exist."})
        if parent.pk == team.pk or team.pk in {
            t.pk for t in parent.ancestors(include_self=True)
        }:
            raise ValidationError(
                {
                    "parent": "A team cannot sit under itself or one of its own sub-teams."
                }
            )
    duplicate = Team.objects.filter(
        organization=team.organization, name__iexact=name
    ).exclude(pk=team.pk)
    if duplicate.exists():
        raise ValidationError({"name": "There is already a team with this name."})
    team.name, team.kind, team.parent = name, kind, parent
    team.save(update_fields=["name", "kind", "parent"])
    if members is not None or leads is not None:
        set_team_members(team=team, members=members or [], leads=leads or [])
    return team


@transaction.atomic
def set_team_members(*, team: Team, members: list[User], leads: list[User]) -> None:
    """Replace a team's members; leads are always members too."""
    wanted = {u.pk: u for u in [*members, *leads]}
    lead_ids = {u.pk for u in leads}
    TeamMember.objects.filter(team=team).exclude(user_id__in=wanted).delete()
    existing = {tm.user_id: tm for tm in TeamMember.objects.filter(team=team)}
    for pk, user in wanted.items():
        row = existing.get(pk)
        if row is None:
            TeamMember.objects.create(
                organization_id=team.organization_id,
                team=team,
                user=user,
                is_lead=pk in lead_ids,
            )
        elif row.is_lead != (pk in lead_ids):
            row.is_lead = pk in lead_ids
            row.save(update_fields=["is_lead"])


@transaction.atomic
def create_member(
    *,
    org: Organization,
    email: str,
    role: str,
    full_name: str = "",
    password: str | None = None,
    teams: list[Team] | None = None,
) -> Membership:
    """A brand-new account that starts as a member: for trusted callers only (the
    operator's command line, the demo builder, test fixtures), never for a web or API
    request. It refuses an address that already has an account: joining an
    organization with an existing account takes that person's consent, so it goes
    through an invitation they accept (invite_member, accept_invitation)."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {
                "email": "This address already has a Landmark account: invite it, "
                "and its owner joins by accepting."
            }
        )
    user = User.objects.create_user(email, password, full_name=full_name)
    membership = Membership.objects.create(organization=org, user=user, role=role)
    for team in teams or []:
        if team.organization_id != org.pk:
            raise ValidationError({"teams": "That team does not exist."})
        TeamMember.objects.get_or_create(organization=org, team=team, user=user)
    member_joined.send(sender=Membership, membership=membership)
    return membership


def check_owner_rights(*, by: Membership | None, target_role: str, role: str) -> None:
    """Owners are protected from admins: only an owner may grant or remove the owner
    role, or deactivate or reactivate an owner. `by` is who acts (None: Landmark itself
    or an operator at the command line, who may do anything)."""
    if by is None or by.is_owner:
        return
    if target_role == Membership.Role.OWNER:
        raise PermissionDenied(OWNERS_ONLY)
    if role == Membership.Role.OWNER:
        raise PermissionDenied(OWNER_ROLE_ONLY)


@transaction.atomic
def update_membership(
    *,
    membership: Membership,
    role: str,
    is_active: bool,
    by: Membership | None = None,
) -> Membership:
    """Change a member's role or whether it is active, as `by` (see
    check_owner_rights); the last active owner cannot be demoted or deactivated.

    The checks read the stored row (locked), not the instance: a form may already have
    changed the instance's attributes.
    """
    if by is not None and by.organization_id != membership.organization_id:
        raise ValueError("A membership is changed by someone of its organization.")
    stored = Membership.objects.select_for_update().get(pk=membership.pk)
    if stored.role != role or stored.is_active != is_active:
        check_owner_rights(by=by, target_role=stored.role, role=role)
    losing_owner = (
        stored.role == Membership.Role.OWNER
        and stored.is_active
        and (role != Membership.Role.OWNER or not is_active)
    )
    if losing_owner:
        other_owners = (
            Membership.objects.select_for_update()
            .filter(
                organization_id=membership.organization_id,
                role=Membership.Role.OWNER,
                is_active=True,
            )
            .exclude(pk=membership.pk)
        )
        if not other_owners.exists():
            raise ValidationError(
                {
                    "role": "The organization needs at least one owner. Make someone else owner first."
                }
            )
    membership.role, membership.is_active = role, is_active
    membership.save(update_fields=["role", "is_active"])
    if stored.is_active and not is_active:
        end_sessions(user_id=membership.user_id)
    return membership


def end_sessions(*, user_id: int) -> None:
    """Log a user out of every browser at once, whatever the session backend.

    Raising `session_version` changes the hash Django checks on every request, so each
    existing session is flushed on its next request. (API tokens, when they exist, must
    check Membership.is_active on every call as the session middleware does.)
    """
    User.objects.filter(pk=user_id).update(session_version=F("session_version") + 1)


def record_code_failure(*, user: User, ip_address: str) -> None:
    """Count a wrong two-factor code (see throttle.py), and forget failures too old to
    count any more."""
    now = timezone.now()
    CodeFailure.objects.filter(at__lte=now - settings.CODE_COOLOFF_TIME).delete()
    CodeFailure.objects.create(user=user, ip_address=ip_address, at=now)


def clear_code_failures(*, user: User, ip_address: str) -> None:
    """A right code from this address: its earlier wrong ones no longer count (as
    django-axes does for passwords). Those from other addresses still do."""
    CodeFailure.objects.filter(user=user, ip_address=ip_address).delete()


def deactivate_member(
    *, membership: Membership, by: Membership | None = None
) -> Membership:
    """Deactivate a membership and end all of that person's sessions at once.

    The last active owner cannot be deactivated, and only an owner may deactivate an
    owner (update_membership guards both).
    """
    return update_membership(
        membership=membership, role=membership.role, is_active=False, by=by
    )


def reactivate_member(
    *, membership: Membership, by: Membership | None = None
) -> Membership:
    return update_membership(
        membership=membership, role=membership.role, is_active=True, by=by
    )


# Invitations


def send_invitation_mail(*, invitation: Invitation, link: str) -> None:
    org = invitation.organization
    inviter = invitation.invited_by
    by = f"{inviter.display_name} ({inviter.email}) has" if inviter else "You have been"
    lifetime = INVITATION_LIFETIME.days
    body = (
        f"Hello,\n\n{by} invited you to join {org.name} on Landmark as "
        f"{invitation.get_role_display().lower()}.\n\n"
        f"Accept the invitation here:\n{link}\n\n"
        f"The link works once and expires in {lifetime} days. If you did not expect "
        "this invitation, you can ignore this email.\n"
    )
    send_mail(
        f"Join {org.name} on Landmark",
        body,
        settings.DEFAULT_FROM_EMAIL,
        [invitation.email],
    )


def issue_token(invitation: Invitation, build_link: LinkBuilder) -> None:
    """Give the invitation a fresh token and expiry, and mail the link after commit."""
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = hash_token(raw)
    invitation.last_sent_at = now
    invitation.expires_at = now + INVITATION_LIFETIME
    link = build_link(raw)
    transaction.on_commit(
        partial(send_invitation_mail, invitation=invitation, link=link)
    )


@transaction.atomic
def invite_member(
    *,
    org: Organization,
    email: str,
    role: str,
    teams: list[Team],
    invited_by: User,
    build_link: LinkBuilder,
) -> Invitation:
    """Invite an address to join with a role and teams; the link goes out by email.

    Only an owner may invite someone as owner, or invite back a deactivated owner
    (accepting would reactivate them with the invitation's role)."""
    email = email.strip().lower()
    inviter = Membership.objects.filter(organization=org, user=invited_by).first()
    former = Membership.objects.filter(
        organization=org, user__email=email, is_active=False
    ).first()
    check_owner_rights(
        by=inviter or Membership(organization=org, user=invited_by, is_active=False),
        target_role=former.role if former is not None else "",
        role=role,
    )
    if any(t.organization_id != org.pk for t in teams):
        raise ValidationError({"teams": "That team does not exist."})
    if Membership.objects.filter(
        organization=org, user__email=email, is_active=True
    ).exists():
        raise ValidationError(
            {"email": "This person is already a member of the organization."}
        )
    open_invitations = Invitation.objects.select_for_update().filter(
        organization=org, email=email
    )
    if open_invitations.pending().exists():
        raise ValidationError(
            {
                "email": "This address already has an invitation waiting. "
                "Resend it from the members page instead."
            }
        )
    # An expired invitation no longer counts: close it so the new one can be open.
    open_invitations.open().update(revoked_at=timezone.now())
    invitation = Invitation(
        organization=org, email=email, role=role, invited_by=invited_by
    )
    issue_token(invitation, build_link)
    invitation.save()
    InvitationTeam.objects.bulk_create(
        InvitationTeam(organization=org, invitation=invitation, team=t)
        for t in set(teams)
    )
    return invitation


@transaction.atomic
def resend_invitation(*, invitation: Invitation, build_link: LinkBuilder) -> Invitation:
    """Send a new link (the old one stops working) with a new 7-day expiry."""
    locked = Invitation.objects.select_for_update().open().filter(pk=invitation.pk)
    if not locked.exists():
        raise ValidationError("This invitation was already accepted or revoked.")
    issue_token(invitation, build_link)
    invitation.save(update_fields=["token_hash", "last_sent_at", "expires_at"])
    return invitation


@transaction.atomic
def revoke_invitation(*, invitation: Invitation) -> Invitation:
    now = timezone.now()
    if not Invitation.objects.open().filter(pk=invitation.pk).update(revoked_at=now):
        raise ValidationError("This invitation was already accepted or revoked.")
    invitation.revoked_at = now
    return invitation


def find_invitation(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )


def invitation_problem(invitation: Invitation | None) -> str:
    """Why a link cannot be used, in plain words ("" when it can)."""
    if invitation is None:
        return "This invitation link is not valid. Check that you copied all of it."
    status = invitation.status
    if status == Invitation.Status.ACCEPTED:
        return "This invitation has already been used. Log in to continue."
    if status == Invitation.Status.REVOKED:
        return "This invitation was withdrawn. Ask an admin for a new one."
    if status == Invitation.Status.EXPIRED:
        return "This invitation has expired. Ask an admin to send it again."
    return ""


@transaction.atomic
def accept_invitation(
    *,
    token: str,
    user: User | None = None,
    full_name: str = "",
    password: str = "",
) -> Membership:
    """Join the organization: as `user` (who must own the invited address), or as a new
    account made from `full_name` and `password` when the address has none yet."""
    invitation = find_invitation(token)
    problem = invitation_problem(invitation)
    if invitation is None or problem:
        raise ValidationError(problem)
    if user is None:
        if User.objects.filter(email=invitation.email).exists():
            raise ValidationError(
                f"{invitation.email} already has a Landmark account. "
                "Log in with it to accept."
            )
        candidate = User(email=invitation.email, full_name=full_name)
        if not full_name.strip():
            raise ValidationError({"full_name": "Enter your name."})
        try:
            validate_password(password, candidate)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from error
        user = User.objects.create_user(
            invitation.email, password, full_name=full_name.strip()
        )
        # The link came to this address: it is proven, no second email needed.
        mark_email_verified(user=user)
    elif user.email.lower() != invitation.email:
        raise ValidationError(
            f"This invitation is for {invitation.email}, but you are logged in as "
            f"{user.email}. Log out and open the link again."
        )
    # The conditional update makes a double submit (or a revoke racing) lose cleanly.
    used = Invitation.objects.pending().filter(pk=invitation.pk)
    if not used.update(accepted_at=timezone.now()):
        raise ValidationError(invitation_problem(find_invitation(token)))
    org = invitation.organization
    membership, created = Membership.objects.get_or_create(
        organization=org,
        user=user,
        defaults={"role": invitation.role},
    )
    if not created:  # a deactivated member invited back
        membership.role, membership.is_active = invitation.role, True
        membership.save(update_fields=["role", "is_active"])
    for row in InvitationTeam.objects.filter(invitation=invitation).select_related(
        "team"
    ):
        TeamMember.objects.get_or_create(organization=org, team=row.team, user=user)
    member_joined.send(sender=Membership, membership=membership)
    return membership


# Single sign-on (OpenID Connect, one provider per organization)

DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


def parse_domains(text: str) -> list[str]:
    """Email domains from what an admin typed (commas, spaces or lines between)."""
    domains: list[str] = []
    for raw in re.split(r"[\s,;]+", text.strip().lower()):
        domain = raw.lstrip("@").rstrip(".")
        if not domain:
            continue
        if not DOMAIN_RE.match(domain):
            raise ValidationError(
                {"domains": f"“{raw}” is not an email domain such as acme.com."}
            )
        if domain not in domains:
            domains.append(domain)
    if not domains:
        raise ValidationError(
            {"domains": "Enter at least one email domain, such as acme.com."}
        )
    return domains


def check_claimable(domains: list[str], *, org: Organization) -> None:
    """Refuse public suffixes, free-mail providers and domains another organization
    has already proven (a pending claim elsewhere blocks nobody: it proves nothing)."""
    problems = [reason for d in domains if (reason := unclaimable_reason(d))]
    taken = sorted(
        SSODomain.objects.verified()
        .filter(domain__in=domains)
        .exclude(organization=org)
        .values_list("domain", flat=True)
    )
    if taken:
        problems.append(
            f"{', '.join(taken)} already signs in through another organization's "
            "single sign-on."
        )
    if problems:
        raise ValidationError({"domains": problems})


@transaction.atomic
def save_sso(
    *,
    org: Organization,
    server_url: str,
    client_id: str,
    client_secret: str,
    domains: list[str],
    enabled: bool,
) -> OrganizationSSO:
    """Create or change the organization's OpenID Connect provider.

    The client secret is stored encrypted; an empty `client_secret` keeps the stored
    one. A new domain starts as a pending claim with its own token; it does nothing
    until check_sso_domains finds the token in the domain's DNS. A kept domain keeps
    its token and state."""
    check_claimable(domains, org=org)
    config = (
        OrganizationSSO.objects.select_for_update()
        .select_related("social_app")
        .filter(organization=org)
        .first()
    )
    if config is None and not client_secret:
        raise ValidationError({"client_secret": "Enter the client secret."})
    app = config.social_app if config else SocialApp(provider=PROVIDER)
    app.provider_id = provider_id_for(org.pk)
    app.name = org.name[:40]
    app.client_id = client_id.strip()
    app.secret = ""  # kept encrypted on the OrganizationSSO row instead
    app.settings = {**(app.settings or {}), "server_url": server_url.strip()}
    app.save()
    sealed = Sealed.seal(client_secret.strip()) if client_secret else None
    if config is None:
        config = OrganizationSSO.objects.create(
            organization=org, social_app=app, enabled=enabled, client_secret=sealed
        )
    else:
        config.enabled, config.updated_at = enabled, timezone.now()
        config.client_secret = sealed or config.client_secret
        config.save(update_fields=["enabled", "updated_at", "client_secret"])
    SSODomain.objects.filter(sso=config).exclude(domain__in=domains).delete()
    kept = set(SSODomain.objects.filter(sso=config).values_list("domain", flat=True))
    SSODomain.objects.bulk_create(
        SSODomain(
            organization=org, sso=config, domain=d, token=secrets.token_urlsafe(24)
        )
        for d in domains
        if d not in kept
    )
    return config


TAKEN = (
    "Another organization has already proven this domain; it cannot be claimed twice."
)


def check_sso_domains(*, org: Organization) -> list[SSODomain]:
    """Look for each claimed domain's TXT record now, and record what was found.

    A domain whose record carries its token becomes verified (unless another
    organization proved it first); one whose record is gone goes back to pending.
    DNS is read before the transaction opens, so no lock waits on the network."""
    rows = list(SSODomain.objects.filter(organization=org))
    found: dict[int, bool | str] = {}
    for row in rows:
        try:
            found[row.pk] = proves(row.domain, row.token)
        except LookupFailed:
            found[row.pk] = "DNS did not answer; try again in a moment."
    return record_domain_checks(org=org, found=found)


@transaction.atomic
def record_domain_checks(
    *, org: Organization, found: dict[int, bool | str]
) -> list[SSODomain]:
    """Store the outcome of a DNS check: True (record found), False (not found) or a
    message (DNS did not answer: the state stays as it was)."""
    now = timezone.now()
    rows = list(
        SSODomain.objects.select_for_update()
        .filter(organization=org, pk__in=found)
        .order_by("pk")
    )
    for row in rows:
        outcome = found[row.pk]
        row.checked_at = now
        if isinstance(outcome, str):
            row.check_result = outcome
        elif not outcome:
            row.verified_at = None
            row.check_result = (
                f"No TXT record {record_name(row.domain)} with this token was found."
            )
        elif (
            SSODomain.objects.verified()
            .filter(domain=row.domain)
            .exclude(pk=row.pk)
            .exists()
        ):
            row.verified_at = None
            row.check_result = TAKEN
        else:
            row.verified_at = row.verified_at or now
            row.check_result = "The record was found: the domain is verified."
        try:
            with transaction.atomic():  # a savepoint: the race below rolls back alone
                row.save(update_fields=["verified_at", "checked_at", "check_result"])
        except IntegrityError:
            # Another organization proved the same domain at the same moment; the
            # database's unique constraint on verified claims let only one through.
            row.verified_at = None
            row.check_result = TAKEN
            row.save(update_fields=["verified_at", "checked_at", "check_result"])
    return rows


@transaction.atomic
def join_by_sso(*, config: OrganizationSSO, user: User) -> Membership:
    """A person the organization's provider signed up joins it as a member.

    Their address is verified: the organization's provider vouches for its domains."""
    membership, joined = Membership.objects.get_or_create(
        organization_id=config.organization_id,
        user=user,
        defaults={"role": Membership.Role.MEMBER},
    )
    mark_email_verified(user=user)
    if joined:
        member_joined.send(sender=Membership, membership=membership)
    return membership


# Expired invitations stay listed (as expired, with a Resend button) this long.
EXPIRED_INVITATION_RETENTION = timedelta(days=30)


def prune_expired_invitations(*, now: datetime | None = None) -> int:
    """Delete invitations that expired more than EXPIRED_INVITATION_RETENTION ago and
    were never accepted (in every organization); their links stopped working long ago.
    Accepted and revoked ones stay, as the record of who joined and who was stopped."""
    cutoff = (now or timezone.now()) - EXPIRED_INVITATION_RETENTION
    stale = Invitation.objects.open().filter(expires_at__lt=cutoff)
    deleted = stale.count()
    stale.delete()  # with their InvitationTeam rows
    return deleted

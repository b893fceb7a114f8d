"""What orgs announces to the apps built on it, which orgs never imports."""

from django.dispatch import Signal

# Sent by actions.start_organization inside its transaction, with `organization` and
# `today` (the day it starts, in its time zone): okrs gives it an active period for
# the current quarter (okrs/apps.py), so the new organization is ready to use.
organization_started = Signal()

# Sent when someone joins an organization (an invitation accepted, a sign-up through
# the organization's single sign-on, an account made by an operator), inside that
# transaction, with `membership`: hooks tells the organization's webhooks.
member_joined = Signal()

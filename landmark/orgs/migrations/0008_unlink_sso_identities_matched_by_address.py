# Before domain verification, an organization's provider could log in (and link) an
# existing account just because the address matched; an attacker's provider may have
# linked itself to someone's account that way. Such links are removed: an identity
# stays linked only to the account it created (made within a minute of the account).
# Owners link their SSO again themselves from the Security page.

from datetime import timedelta

from django.db import migrations


def unlink_address_matches(apps, schema_editor):
    SocialAccount = apps.get_model("socialaccount", "SocialAccount")
    for account in SocialAccount.objects.filter(provider__startswith="org-").select_related(
        "user"
    ):
        if account.date_joined - account.user.date_joined > timedelta(minutes=1):
            account.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("orgs", "0007_sso_domain_verification"),
        ("socialaccount", "0006_alter_socialaccount_extra_data"),
    ]

    operations = [
        migrations.RunPython(unlink_address_matches, migrations.RunPython.noop),
    ]

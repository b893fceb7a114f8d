# SSO domains must be proven with a DNS TXT record before they do anything. Domains
# claimed before this migration become pending claims with a fresh token each.

import secrets

import django.utils.timezone
from django.db import migrations, models


def give_tokens(apps, schema_editor):
    SSODomain = apps.get_model("orgs", "SSODomain")
    for row in SSODomain.objects.filter(token__isnull=True):
        row.token = secrets.token_urlsafe(24)
        row.save(update_fields=["token"])


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0006_sso_client_secret_encrypted'),
    ]

    operations = [
        migrations.AddField(
            model_name='ssodomain',
            name='check_result',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='ssodomain',
            name='checked_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='ssodomain',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name='ssodomain',
            name='token',
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(give_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='ssodomain',
            name='token',
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.AddField(
            model_name='ssodomain',
            name='verified_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='ssodomain',
            name='domain',
            field=models.CharField(max_length=253),
        ),
        migrations.AddConstraint(
            model_name='ssodomain',
            constraint=models.UniqueConstraint(fields=('organization', 'domain'), name='one_claim_per_org_and_domain'),
        ),
        migrations.AddConstraint(
            model_name='ssodomain',
            constraint=models.UniqueConstraint(condition=models.Q(('verified_at__isnull', False)), fields=('domain',), name='one_verified_claim_per_domain'),
        ),
    ]

"""Risk counts per month, and what each sign-in counted.

``RiskCount`` rows gain their month (rows already there are this month's),
and their unique constraints the month; a sign-in reads the window's months
(``trust.rules.risk.decay``). ``SignInAttempt`` keeps what it counted and
the device and session a "this wasn't me" report reaches it by.

The risk read is now one ORM query: the PL/pgSQL function of 0013,
``trust_risk_read``, is no longer called. It is left in place (no raw SQL
here); it goes when the migrations are squashed into one initial migration.
"""

import django.db.models.deletion
import trust.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('trust', '0015_one_index_per_device_key'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='riskcount',
            name='trust_riskcount_site',
        ),
        migrations.RemoveConstraint(
            model_name='riskcount',
            name='trust_riskcount_user',
        ),
        migrations.AddField(
            model_name='riskcount',
            name='month',
            field=models.DateField(default=trust.models.this_month),
        ),
        migrations.AddField(
            model_name='signinattempt',
            name='counted',
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.AddField(
            model_name='signinattempt',
            name='counted_in',
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='signinattempt',
            name='device',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='trust.trusteddevice'),
        ),
        migrations.AddField(
            model_name='signinattempt',
            name='session',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='trust.trustedsession'),
        ),
        migrations.AddConstraint(
            model_name='riskcount',
            constraint=models.UniqueConstraint(condition=models.Q(('user__isnull', True)), fields=('feature', 'value', 'month'), name='trust_riskcount_site_month'),
        ),
        migrations.AddConstraint(
            model_name='riskcount',
            constraint=models.UniqueConstraint(condition=models.Q(('user__isnull', False)), fields=('user', 'feature', 'value', 'month'), name='trust_riskcount_user_month'),
        ),
    ]

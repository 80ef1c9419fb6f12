from django.conf import settings
from django.db import migrations, models


def claim_for_existing_accounts(apps, schema_editor):
    """Close the first-account page on installs that already have accounts, even if all are deleted later."""
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    first = User.objects.order_by("-is_superuser", "date_joined", "pk").first()
    if first is not None:
        apps.get_model("accounts", "FirstAccountClaim").objects.create(id=1, username=first.username)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='FirstAccountClaim',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('username', models.CharField(max_length=150)),
                ('claimed_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='first_account_claim_is_single')],
            },
        ),
        migrations.RunPython(claim_for_existing_accounts, migrations.RunPython.noop),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("datasets", "0004_dataset_mirror_rotate")]

    operations = [
        migrations.AddField(model_name="image", name="phash", field=models.BigIntegerField(blank=True, null=True)),
    ]

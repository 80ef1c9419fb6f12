from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('datasets', '0006_stored_counts_and_live_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='image',
            name='phash_crops',
            field=models.BinaryField(blank=True, null=True),
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("classify", "0004_pending_upload_size_and_age")]

    operations = [
        migrations.AddField(model_name="explanation", name="layer", field=models.CharField(blank=True, max_length=200)),
    ]

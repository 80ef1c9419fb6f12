from django.db import migrations, models

LIVE = models.Q(deleted_at__isnull=True)


def count_images(apps, schema_editor):
    """Store each dataset's live image count (kept right from now on by Dataset.touch)."""
    Dataset, Image = apps.get_model("datasets", "Dataset"), apps.get_model("datasets", "Image")
    counts = dict(Image.objects.filter(deleted_at__isnull=True).order_by().values_list("dataset")
                  .annotate(n=models.Count("pk")))
    for pk, n in counts.items():
        Dataset.objects.filter(pk=pk).update(image_count=n)


class Migration(migrations.Migration):
    dependencies = [("datasets", "0005_image_phash")]

    operations = [
        migrations.AddField(model_name="dataset", name="image_count",
                            field=models.PositiveIntegerField(default=0, editable=False)),
        migrations.RunPython(count_images, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="image", name="image_browse_order"),
        migrations.AddIndex(model_name="image", index=models.Index(
            condition=LIVE, fields=["dataset", "-created_at", "-id"], name="image_browse_order")),
        migrations.AddIndex(model_name="image", index=models.Index(
            condition=LIVE, fields=["dataset", "label", "-created_at", "-id"], name="image_class_order")),
        migrations.AddIndex(model_name="image", index=models.Index(
            condition=LIVE, fields=["dataset", "split", "-created_at", "-id"], name="image_split_order")),
        migrations.AddIndex(model_name="image", index=models.Index(
            condition=LIVE, fields=["dataset", "label", "split", "width", "height"], name="image_health")),
        migrations.AddIndex(model_name="image", index=models.Index(
            condition=LIVE, fields=["dataset", "original_name"], name="image_name")),
    ]

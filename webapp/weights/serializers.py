"""What the weights API takes and answers."""

from rest_framework import serializers


class DownloadStateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["idle", "queued", "running", "succeeded", "failed"])
    bytes_done = serializers.IntegerField()
    bytes_total = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class WeightsFileSerializer(serializers.Serializer):
    filename = serializers.CharField(help_text="torchvision's file name; its hex part begins the file's SHA-256.")
    arch = serializers.CharField(help_text="The architecture whose layers are exactly the file's.")
    archs = serializers.ListField(child=serializers.CharField(), help_text="Architectures that start from it.")
    present = serializers.BooleanField()
    size = serializers.IntegerField(allow_null=True)
    checksum = serializers.ChoiceField(choices=["verified", "shapes", "mismatch", "missing"])
    checksum_label = serializers.CharField(allow_blank=True)
    download = DownloadStateSerializer()
    run_count = serializers.IntegerField(help_text="Runs you may see that started from these weights.")
    downloadable = serializers.BooleanField(help_text="False when the server is offline (LUX_OFFLINE): upload "
                                                      "the file instead.")


class FetchSerializer(serializers.Serializer):
    names = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1, max_length=50,
                                  help_text="Architectures (e.g. resnet18) or torchvision file names.")


class UploadSerializer(serializers.Serializer):
    arch = serializers.CharField(max_length=100)
    file = serializers.FileField(help_text="torchvision's .pth file, or a state dict saved as .pth or .safetensors.")

"""Import every architecture module so that each registers its models."""

from classifier.architectures import custom, resnet, vgg, vit  # noqa: F401

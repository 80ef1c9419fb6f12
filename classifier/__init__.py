"""Lux's model zoo: what a model is and how it answers (pure PyTorch, no Django)."""

# Importing the architectures registers them, as timm's package import does: any import of a classifier
# module runs this file first, so the registry is full before anyone lists or builds from it.
from classifier import architectures  # noqa: F401
from classifier.factory import create_model, load_model, parameter_count
from classifier.metrics import classification_metrics, confusion_matrix
from classifier.netspec import LayerShape, SpecError, build_network, layer_shapes
from classifier.predict import predict_topk
from classifier.presets import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    EvalPreset,
    TrainPreset,
    augment_presets,
    decode_for_cache,
    preset_from_dict,
)
from classifier.pretrained import (
    PretrainedWeightsMissing,
    available_imagenet_weights,
    imagenet_class_names,
    imagenet_weights_path,
    load_pretrained,
)
from classifier.registry import (
    ModelInfo,
    UnknownModel,
    check_image_size,
    list_models,
    model_info,
    register_model,
)
from classifier.weights import (
    ModelCard,
    WeightsError,
    load_weights_into,
    read_state_dict,
    save_model,
)

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "EvalPreset", "LayerShape", "ModelCard", "ModelInfo",
    "PretrainedWeightsMissing", "SpecError", "TrainPreset", "UnknownModel", "WeightsError",
    "augment_presets", "available_imagenet_weights", "build_network", "check_image_size",
    "classification_metrics", "confusion_matrix", "create_model", "decode_for_cache",
    "imagenet_class_names", "imagenet_weights_path", "layer_shapes", "list_models", "load_model",
    "load_pretrained", "load_weights_into", "model_info", "parameter_count", "predict_topk",
    "preset_from_dict", "read_state_dict", "register_model", "save_model",
]

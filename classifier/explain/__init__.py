"""Why a model decided: Grad-CAM, ViT attention rollout, feature maps and filters, and their PNGs."""

from classifier.explain.attention import attention_maps, attention_rollout, rollout
from classifier.explain.features import (
    channel_grid,
    conv_stages,
    feature_maps,
    filter_grid,
    first_layer_filters,
    tile,
)
from classifier.explain.gradcam import CamLayer, GradCam, cam_layers, choose_layer, grad_cam
from classifier.explain.render import colorize, grid_png, heatmap_png, overlay, overlay_png, png_bytes, to_image

__all__ = [
    "CamLayer", "GradCam", "attention_maps", "cam_layers", "choose_layer", "attention_rollout", "channel_grid",
    "colorize", "conv_stages",
    "feature_maps", "filter_grid", "first_layer_filters", "grad_cam", "grid_png", "heatmap_png", "overlay",
    "overlay_png", "png_bytes", "rollout", "tile", "to_image",
]

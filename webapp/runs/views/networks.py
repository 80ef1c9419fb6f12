"""Build your own network: the layer editor, its live shape check, and saving it by name."""

import json

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from classifier.netspec import DEFAULT_SPEC
from webapp.runs.forms import NetworkForm
from webapp.runs.models import CustomNetwork
from webapp.runs.services.access import get_network
from webapp.runs.services.networks import MAX_IMAGE_SIZE, PREVIEW_CLASSES, network_shapes


def _whole(value, default: int, *, maximum: int) -> int:
    """Return `value` as a whole number in 1..maximum, else `default`."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if 1 <= number <= maximum else default


@require_POST
def network_shapes_json(request):
    """Answer each layer's output shape and parameter count for a spec sent as JSON."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"ok": False, "layers": [], "total_params": 0,
                             "error": {"layer": None, "message": "the request body is not JSON"}}, status=400)
    if not isinstance(body, dict):
        body = {}
    image_size = _whole(body.get("image_size"), 32, maximum=MAX_IMAGE_SIZE)
    num_classes = _whole(body.get("num_classes"), PREVIEW_CLASSES, maximum=100_000)
    return JsonResponse(network_shapes(body.get("spec"), image_size=image_size, num_classes=num_classes))


@require_http_methods(["GET", "POST"])
def network_builder(request, pk=None):
    """Show the layer editor for a new network (or network `pk`) and save it."""
    network = get_network(request.user, pk) if pk is not None else None
    initial = {"name": network.name, "image_size": network.image_size} if network else {"image_size": 32}
    form = NetworkForm(request.POST or None, user=request.user, network=network, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Saved “{saved.name}”: pick it under “Your networks” in the architecture list.")
        return redirect(f"{reverse('run_new')}?network={saved.pk}")
    spec = network.spec if network else DEFAULT_SPEC
    if request.method == "POST":
        try:
            spec = json.loads(request.POST.get("spec") or "[]")
        except ValueError:
            pass
    return render(request, "runs/network_builder.html", {
        "form": form, "network": network, "spec": spec, "preview_classes": PREVIEW_CLASSES,
        "networks": CustomNetwork.objects.visible_to(request.user).order_by("name"),
    })

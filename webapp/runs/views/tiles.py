"""The parts of a gallery tile that are alike on every tile of a page: made once a page, filled in per tile."""

from collections.abc import Callable

from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

SELECTED = mark_safe(" selected")


def per_image(name: str, arg: str, **kwargs) -> Callable[[int], str]:
    """Return image id -> the URL `name` for that image (its other arguments `kwargs`), reversing once a page."""
    # A page has up to 60 tiles of four links each; reversing every link cost more than the rest of the tile.
    head, found, tail = reverse(name, kwargs={**kwargs, arg: 0}).rpartition("/0/")
    if not found:
        raise ValueError(f"URL {name} has no /<{arg}>/ segment")
    return lambda image_id: f"{head}/{int(image_id)}/{tail}"


def class_options(classes) -> Callable[[int | None], SafeString]:
    """Return class id -> the <option>s of `classes` with that class selected, each variant made once a page."""
    made: dict[int | None, SafeString] = {}

    def options(current: int | None) -> SafeString:
        if current not in made:
            made[current] = format_html_join("", '<option value="{}"{}>{}</option>',
                                             ((c.pk, SELECTED if c.pk == current else "", c.name) for c in classes))
        return made[current]

    return options

"""Template context shared by every page."""

from django.urls import NoReverseMatch, reverse

# (label, URL name): an entry appears once its app is installed and its URL exists.
NAV = [
    ("Datasets", "dataset_list"),
    ("Runs", "run_list"),
    ("Classify", "classify_home"),
    ("Weights", "weights_page"),
    ("API docs", "api_docs"),
]


def navigation(request):
    """Return the navigation entries whose pages exist, marking the current one."""
    items = []
    for label, name in NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path.startswith(url) and url != "/"})
    return {"nav_items": items}

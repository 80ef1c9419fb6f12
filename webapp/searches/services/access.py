"""Who may see which search: its owner and their teammates, as for runs (others get a 404)."""

from webapp.core.ownership import get_visible_or_404
from webapp.searches.models import Search


def visible_searches(user):
    """Return the searches `user` may see, with their dataset and winner loaded."""
    return Search.objects.visible_to(user).select_related("dataset", "version", "winner")


def get_search(user, pk) -> Search:
    """Return the search `pk` if `user` may see it, else raise Http404."""
    return get_visible_or_404(visible_searches(user), user, pk=pk)

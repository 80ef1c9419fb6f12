"""The search pages: start one, follow it (table, curves, winner), cancel it, and the list of searches."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.core.errors import FieldError
from webapp.searches.forms import SearchForm
from webapp.searches.services import status
from webapp.searches.services.access import get_search, visible_searches
from webapp.searches.services.control import SearchStateError, cancel_search
from webapp.searches.services.launching import start_search


@require_GET
def search_list(request):
    """List the searches the user may see, newest first."""
    return render(request, "searches/list.html", {"searches": visible_searches(request.user)[:100]})


@require_http_methods(["GET", "POST"])
def search_new(request):
    """Show the "choose for me" form, or start the search it describes."""
    form = SearchForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            search = start_search(request.user, form.cleaned_data["dataset"], form.cleaned_data["minutes"])
        except FieldError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("search_detail", pk=search.pk)
    return render(request, "searches/new.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
def search_detail(request, pk):
    """Show a search: its members' table, the winner, their curves and live progress."""
    search = get_search(request.user, pk)
    return render(request, "searches/detail.html", {
        "search": search, "rows": status.member_rows(search), "curves": status.curves(search),
        "status": status.search_status(search)})


@require_GET
def search_status_json(request, pk):
    """Answer the search's live state as JSON, for the page's polling."""
    return JsonResponse(status.search_status(get_search(request.user, pk)))


@require_POST
def search_cancel(request, pk):
    """Cancel the search and its live members."""
    search = get_search(request.user, pk)
    try:
        cancel_search(search)
    except SearchStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Search cancelled; its queued and running members were cancelled.")
    return redirect("search_detail", pk=search.pk)

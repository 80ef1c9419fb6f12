"""The dashboard and the health endpoint."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from webapp.core.health import health, status
from webapp.core.models import Worker


@require_GET
def dashboard(request):
    """Show where the user stands and what to do next."""
    workers = list(Worker.objects.alive())
    steps = [section(request) for section in DASHBOARD_SECTIONS]
    return render(request, "core/dashboard.html", {"workers": workers, "sections": steps})


# Each domain app appends a callable(request) -> dict(title, count, url, empty_text, action) here.
DASHBOARD_SECTIONS: list = []


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Answer JSON about the database, broker, workers and torch; 503 when the app cannot work."""
    # Error texts name hosts and ports, workers name machines, versions name what to attack: staff only.
    report = health() if request.user.is_active and request.user.is_staff else status()
    return JsonResponse(report, status=200 if report["ok"] else 503)

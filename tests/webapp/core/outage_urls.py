"""Lux's URLs plus a page that only touches the database after its view returns (saving the session)."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import path

from webapp.urls import urlpatterns as lux_urlpatterns


@login_not_required
def remember(request):
    """Remember a visit in the session: SessionMiddleware writes it once the view has answered."""
    request.session["visited"] = True
    return HttpResponse("remembered")


urlpatterns = [path("remember/", remember), *lux_urlpatterns]

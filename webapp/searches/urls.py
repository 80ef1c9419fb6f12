"""Pages of searches ("Choose for me, within N minutes"), under /searches/."""

from django.urls import path

from webapp.searches.views import pages

urlpatterns = [
    path("", pages.search_list, name="search_list"),
    path("new/", pages.search_new, name="search_new"),
    path("<int:pk>/", pages.search_detail, name="search_detail"),
    path("<int:pk>/status.json", pages.search_status_json, name="search_status"),
    path("<int:pk>/cancel/", pages.search_cancel, name="search_cancel"),
]

"""Owner filtering shared by every page and API endpoint: an outsider sees a 404, never a 403."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.http import Http404


class OwnedQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Return the rows `user` owns or a teammate (someone sharing one of their teams) owns."""
        if not user or not user.is_authenticated:
            return self.none()
        teammates = get_user_model().objects.filter(groups__in=user.groups.all())
        return self.filter(models.Q(owner=user) | models.Q(owner__in=teammates.values("pk")))


class OwnedModel(models.Model):
    """A row that belongs to one user and is shared with their teams."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    objects = OwnedQuerySet.as_manager()

    class Meta:
        abstract = True


def get_visible_or_404(queryset, user, **lookup):
    """Return the one row matching `lookup` that `user` may see, or raise Http404."""
    if isinstance(queryset, type) and issubclass(queryset, models.Model):
        queryset = queryset.objects.all()
    try:
        return queryset.visible_to(user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404("No such object.") from None

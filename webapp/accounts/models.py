"""The claim on the first account: a row that can exist once, so only one visitor ever becomes the first admin."""

from django.db import models


class FirstAccountClaim(models.Model):
    """The one row saying the first account was taken; its fixed primary key lets only one insert succeed."""

    ONLY = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ONLY, editable=False)
    username = models.CharField(max_length=150)
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="first_account_claim_is_single")]

    def __str__(self):
        return f"first account {self.username} ({self.claimed_at:%Y-%m-%d})"

"""Who may do what with pretrained weights: every signed-in user sees their state; staff fetch and upload them.

The files are the server's, shared by everyone (not owned), so there is no object to hide: the runs listed
beside each file are only those the viewer may see.
"""

from webapp.core.errors import FieldError


class NotAllowed(FieldError):
    """A signed-in user who is not an administrator asked to change the server's weights files."""

    status = 403


def can_manage(user) -> bool:
    """Return whether `user` may download or upload weights files (staff and superusers)."""
    return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser))


def require_manager(user) -> None:
    """Raise NotAllowed unless `user` may manage weights files."""
    if not can_manage(user):
        raise NotAllowed("Only administrators can download or upload pretrained weights; ask one to do it.")

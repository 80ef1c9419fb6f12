"""Signals the datasets app sends, so apps built on it (labelling) can follow its changes without it importing them."""

from django.dispatch import Signal

# Sent by services.bulk.relabel inside the transaction that changed the labels, once per call, only when some
# image's class really changed. Arguments: dataset; changes, a list of (image id, previous class id or None,
# new class id or None); user (who asked; None or anonymous: nobody known); origin ("hand", or "suggestion" when
# a person accepted what a model said); model_ref (that model: "run:12"; empty by hand).
labels_changed = Signal()

# Sent by services.versions.freeze_version inside its transaction, once a new version's entries are written.
# Arguments: version. A receiver may add its own counts to version.counts (labelling: labels per origin).
version_frozen = Signal()

# The origins a caller may give (labelling.models.Origin's values; a bulk accept is the labelling app's own).
BY_HAND = "hand"
ACCEPTED = "suggestion"

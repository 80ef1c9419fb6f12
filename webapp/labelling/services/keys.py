"""The key that labels each class: 1–9, then letters that no other command uses."""

import string

COMMAND_KEYS = {"z", "s"}  # undo, skip
KEYS = list("123456789") + [c for c in string.ascii_lowercase if c not in COMMAND_KEYS]


def class_keys(classes) -> list[dict]:
    """Return [{"key", "class"}] for the classes in order; classes beyond the keys get none (buttons still work)."""
    return [{"key": KEYS[i] if i < len(KEYS) else "", "class": c} for i, c in enumerate(classes)]

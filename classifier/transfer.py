"""Heads that keep what they know: carry an earlier model's head rows over to the classes a new dataset shares."""

from __future__ import annotations

from torch import Tensor


def _key(name: str) -> str:
    return str(name).strip().casefold()


def shared_classes(old_names: list[str], new_names: list[str]) -> list[tuple[int, int]]:
    """Return (new index, old index) for every new class whose name the earlier model knew (case-insensitive)."""
    old = {}
    for index, name in enumerate(old_names):
        old.setdefault(_key(name), index)
    return [(i, old[_key(name)]) for i, name in enumerate(new_names) if _key(name) in old]


def carry_head(state_dict: dict[str, Tensor], fresh: dict[str, Tensor], *, head: str, old_names: list[str],
               new_names: list[str]) -> dict[str, Tensor]:
    """Return `state_dict` with its head re-indexed for `new_names`: shared classes keep the earlier rows.

    `fresh` is the new model's own state dict: the rows of classes the earlier model never saw keep their
    fresh initialisation. Head tensors whose first dimension is not one row per earlier class (hidden
    layers of a deeper head) are left as they are, so they load when they fit and stay fresh when not.
    """
    pairs = shared_classes(old_names, new_names)
    out = dict(state_dict)
    for key, theirs in state_dict.items():
        if not (key == head or key.startswith(head + ".")) or key not in fresh:
            continue
        ours = fresh[key]
        if theirs.ndim == 0 or theirs.shape[0] != len(old_names) or ours.shape[0] != len(new_names) \
                or theirs.shape[1:] != ours.shape[1:]:
            continue
        merged = ours.detach().clone()  # (new classes, ...) fresh rows
        for new, old in pairs:
            merged[new] = theirs[old].to(merged.dtype)
        out[key] = merged
    return out

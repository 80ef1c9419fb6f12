"""The cards of the dashboard: each domain app describes its own with `card` and registers it in its AppConfig."""

from django.urls import reverse


def card(title: str, rows, *, url: str, empty_text: str, action: tuple[str, str], active=None) -> dict:
    """Return one card: how many `rows` the user may see, how many are in an `active` status, and what to do next.

    `url` and the first item of `action` are URL names; `action` is (URL name, label).
    """
    busy = rows.filter(status__in=active).count() if active else 0
    return {
        "title": title + (f" · {busy} active" if busy else ""),
        "count": rows.count(),
        "url": reverse(url),
        "empty_text": empty_text,
        "action": {"url": reverse(action[0]), "label": action[1]},
    }

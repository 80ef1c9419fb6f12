"""Template filters of the runs pages: times, percentages, durations, parameter counts and shapes."""

from django import template
from django.utils import dateformat, timezone

register = template.Library()
TIME_FORMAT = "M j, Y H:i:s"  # every time on the runs pages, server-drawn or live ("Dec 4, 2026 03:25:51")


@register.filter
def when(value):
    """Format a time the one way the runs pages show times, in the site's time zone; None -> "—"."""
    if value is None or value == "":
        return "—"
    return dateformat.format(timezone.localtime(value), TIME_FORMAT)


@register.filter
def pct(value, digits=1):
    """Format a fraction as a percentage: 0.9312 -> "93.1%"; None -> "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def signed_pct(value, digits=1):
    """Format a change of a fraction in percentage points with its sign: 0.05 -> "+5.0"."""
    if value is None:
        return ""
    return f"{float(value) * 100:+.{int(digits)}f}"


@register.filter
def duration(seconds):
    """Format seconds as "42 s", "3 min 5 s" or "2 h 4 min"; None -> "—"."""
    if seconds is None or seconds == "":
        return "—"
    seconds = int(round(float(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@register.filter
def params(count):
    """Format a parameter count: 11689512 -> "11.7M", 2410 -> "2.4k"."""
    if count is None or count == "":
        return "—"
    count = int(count)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if count >= limit:
            return f"{count / limit:.1f}{suffix}"
    return str(count)


@register.filter
def lookup(sequence, index):
    """Return sequence[index] (a list item or dict value), or None."""
    try:
        return sequence[index]
    except (IndexError, KeyError, TypeError):
        return None

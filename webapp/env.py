"""Read settings from the environment with small, strict helpers."""

import os
from pathlib import Path

TRUE_WORDS = {"1", "true", "on"}
FALSE_WORDS = {"0", "false", "off", ""}


class EnvError(ValueError):
    """A setting in the environment is present but unusable."""


def env_bool(name: str, default: bool = False) -> bool:
    """Return the boolean in `name`, refusing anything that is not clearly true or false."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    # "yes", "tru", "enabled": a typo should stop the start, not silently mean False.
    raise EnvError(f"{name}={raw!r} is not a boolean: use one of 1/true/on or 0/false/off")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """Return the integer in `name`, with a message naming the variable when it is not one."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        raise EnvError(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise EnvError(f"{name}={value} is below the minimum of {minimum}")
    return value


def env_str(name: str, default: str = "") -> str:
    """Return the string in `name`, stripped."""
    return os.environ.get(name, default).strip()


def env_list(name: str, default: str = "") -> list[str]:
    """Return the comma-separated list in `name` without empty items."""
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_secret(name: str) -> str | None:
    """Return the secret in `name`, or read it from the file named by `name_FILE`."""
    value = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if value and file_name:
        raise EnvError(f"set {name} or {name}_FILE, not both")
    if file_name:
        try:
            return Path(file_name).read_text().strip() or None
        except OSError as exc:
            raise EnvError(f"{name}_FILE={file_name!r} cannot be read: {exc.strerror}") from None
    return value.strip() if value else None


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """Return the value in `name` when it is one of `choices`."""
    value = env_str(name, default).lower()
    if value not in choices:
        raise EnvError(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value

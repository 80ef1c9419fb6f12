"""Errors a service raises for a person to act on; pages show them beside the field, the API as a JSON body."""

from __future__ import annotations


class FieldError(ValueError):
    """The request cannot be done as asked; `field` names the input at fault, `status` is the HTTP status.

    A page puts `message` beside `field` (or above the form when it is None); the API answers `status` with
    {field: [message]}, or {"non_field_errors": [message]} for a 400 naming no field, or {"detail": message}.
    """

    status = 400

    def __init__(self, message: str, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def body(self) -> dict:
        """Return the JSON body the API answers with, shaped like DRF's own validation errors."""
        if self.field:
            return {self.field: [self.message]}
        if self.status == 400:
            return {"non_field_errors": [self.message]}
        return {"detail": self.message}

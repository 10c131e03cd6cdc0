"""Typed errors whose messages are written for the user: what went wrong and what to do."""

from __future__ import annotations


class AigcError(Exception):
    """Base of every error the UI may show as-is (never a traceback)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class UserInputError(AigcError):
    """A value the user gave is not acceptable; nothing was changed."""


class LabelMappingError(UserInputError):
    """A classifier's labels do not map onto negative/neutral/positive (a label mapping is needed or is wrong)."""


class ModelUnavailableError(AigcError):
    """A model could not be obtained (offline, missing folder, corrupt file, missing package)."""


class UnknownTaskError(AigcError):
    """A task name is not in the catalog."""


class NotFoundError(AigcError):
    """A stored record (dataset, job, model version …) does not exist."""


class ConflictError(AigcError):
    """The action would break something that still depends on the target (e.g. delete a version in use)."""


class PermissionDeniedError(AigcError):
    """The signed-in user may not do this (role or ownership); nothing was changed."""


class NotSignedInError(AigcError):
    """No user is signed in for this action."""

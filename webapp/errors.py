"""The one error type of the API, and its JSON form."""

from __future__ import annotations


class ApiError(Exception):
    """A request the API refuses; ``code`` is stable, ``message`` is for a person."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def handle_api_error(err: ApiError):
    """Flask error handler: ApiError -> the contract's JSON error body."""
    return {"error": {"code": err.code, "message": err.message}}, err.status

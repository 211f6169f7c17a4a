"""The one error type of the API, and its JSON form."""

from __future__ import annotations


class ApiError(Exception):
    """A request the API refuses; ``code`` is stable, ``message`` is for a person.

    ``retry_after`` (seconds) is sent as the Retry-After header, for refusals
    that are only for now (429, 503); ``detail`` adds fields to the error object.
    """

    def __init__(self, code: str, message: str, status: int = 400, retry_after: int | None = None, **detail):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.retry_after, self.detail = retry_after, detail


def handle_api_error(err: ApiError):
    """Flask error handler: ApiError -> the contract's JSON error body."""
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else {}
    return {"error": {"code": err.code, "message": err.message, **err.detail}}, err.status, headers

"""One error hierarchy for the whole service.

Each error has a stable snake_case ``code``, the HTTP ``status`` it maps to and
a ``temporary`` flag (retrying later may succeed). Adapters translate driver
errors into these with ``raise ... from exc``; ``serve_app.responses`` is the
one place that turns them into HTTP answers. The errors survive pickling, so
a room actor can raise them and the Serve replica catches the same class.
"""

from __future__ import annotations


class LiveCommentsError(Exception):
    status = 500
    code = "internal_error"
    temporary = False

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __reduce__(self):
        return (type(self), (self.message, self.code))


class InvalidInput(LiveCommentsError):
    status = 400
    code = "invalid_input"


class Unauthorized(LiveCommentsError):
    status = 401
    code = "unauthorized"


class Forbidden(LiveCommentsError):
    status = 403
    code = "forbidden"


class NotFound(LiveCommentsError):
    status = 404
    code = "not_found"


class Conflict(LiveCommentsError):
    status = 409
    code = "conflict"


class PayloadTooLarge(LiveCommentsError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(LiveCommentsError):
    status = 415
    code = "unsupported_media_type"


class RateLimited(LiveCommentsError):
    status = 429
    code = "rate_limited"
    temporary = True

    def __init__(self, message: str, code: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after

    def __reduce__(self):
        return (type(self), (self.message, self.code, self.retry_after))


class Unavailable(LiveCommentsError):
    """The store or a room cannot take the request now; nothing was acknowledged."""

    status = 503
    code = "unavailable"
    temporary = True


class StoreUnavailable(Unavailable):
    code = "store_unavailable"


class SequenceConflict(StoreUnavailable):
    """Another writer already holds this (post, seq): the room must reload."""

    code = "sequence_conflict"

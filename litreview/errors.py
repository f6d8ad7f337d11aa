"""Errors a person can act on; the CLI and the web turn them into messages, never tracebacks."""


class LitreviewError(Exception):
    """Base: the message is meant for the person who ran the command."""


class NotFound(LitreviewError):
    pass


class Invalid(LitreviewError):
    pass


class Busy(LitreviewError):
    """Others are doing the same thing at this moment: nothing was done; try again soon."""

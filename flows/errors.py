"""Errors a user can fix: bad input files, missing settings. The CLI prints them as one line."""


class InputError(ValueError):
    """The input given to a command is wrong in a way its owner can correct."""

"""Errors that reach the user as one line and exit code 2."""

from __future__ import annotations


class InputError(Exception):
    """A usage or input problem: the CLI prints ``str(err)`` on one line and exits 2.

    The message should name the file (or option) and say what is wrong with it.
    """

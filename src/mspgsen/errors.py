"""The one error type a user should ever see from mspgsen."""


class UserError(Exception):
    """A problem with the user's input: bad name, missing file, impossible size.

    The command line prints the message alone (no traceback) and exits with code 2,
    so every message must say what is wrong and what to do about it.
    """

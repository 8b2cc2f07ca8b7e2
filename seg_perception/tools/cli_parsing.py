"""The verbs' argument parsing: one-line user errors and the help layout (``cli``
builds each verb's parser with these; a verb raises ``UserError`` for what the user can
fix)."""

from __future__ import annotations

import argparse

__all__ = ["UserError", "HelpFormatter", "OneLineErrorParser"]


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's default in ``--help``; descriptions and epilogs keep their lines."""


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad arguments end like any user error: one line (``--help`` shows the usage)."""

    def error(self, message: str):
        raise UserError(message)

"""The ``seg-perception`` entry point: verbs grouped in the top-level help, every verb's
options shown with their defaults, and mistakes that once ended in a traceback are one
line with exit code 2."""

from __future__ import annotations

import argparse

import pytest

from seg_perception.cli import VERB_GROUPS, VERBS, HelpFormatter, OneLineErrorParser, main


def verb_parser(verb: str) -> OneLineErrorParser:
    import importlib

    parser = OneLineErrorParser(prog=f"seg-perception {verb}", formatter_class=HelpFormatter)
    importlib.import_module(VERBS[verb][0]).add_arguments(parser)
    return parser


def shown_defaults_missing(parser: argparse.ArgumentParser) -> list[str]:
    """Options with a default whose help text does not show it."""
    text = "".join(parser.format_help().split())  # wrapped lines joined
    missing = []
    for action in parser._actions:  # argparse has no public accessor
        if action.help in (None, argparse.SUPPRESS) or not action.option_strings:
            continue
        if action.default in (None, argparse.SUPPRESS) or isinstance(action, argparse._HelpAction):
            continue
        shown = ("".join(f"{form}{action.default}".split()) for form in ("default:", "default"))
        if not any(form in text for form in shown):
            missing.append(f"{action.option_strings[0]} (default {action.default!r})")
    return missing


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_shows_its_defaults(verb: str) -> None:
    assert shown_defaults_missing(verb_parser(verb)) == []


def test_top_level_help_lists_every_verb_by_group(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for group, verbs in VERB_GROUPS.items():
        assert f"\n{group}:\n" in text
        assert all(f"  {verb} " in text for verb in verbs)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["imprint", "--input-size", "abc", "--support", ".", "--out", "x.pt"], "WIDTHxHEIGHT"),
        (["bench-motion", "--sizes", "3x3"], "too small"),
        (["train", "--config", "README.md"], "is not valid YAML"),
    ],
)
def test_mistakes_are_one_line(argv: list[str], message: str, capsys, repo_root) -> None:
    import os

    cwd = os.getcwd()
    os.chdir(repo_root)
    try:
        assert main(argv) == 2
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"seg-perception {argv[0]}: error: "), err
    assert message in err[0]

"""One module of exceptions, and next steps that each interface words its own way."""

import ast
import builtins
import re

import pytest

from paperscope import errors
from paperscope.cli.hints import CLI_HINTS, cli_message
from paperscope.errors import Fix, PaperscopeError
from paperscope.web.hints import WEB_HINTS, web_message
from tests.conftest import REPO

SOURCE = REPO / "src" / "paperscope"
BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)}
# What a command-line flag looks like in a message: --limit, --db (not an en dash written as --).
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def test_every_exception_class_is_defined_in_the_errors_module() -> None:
    """Only a private control-flow signal that never leaves its module may live elsewhere."""
    ours = {name for name, value in vars(errors).items() if isinstance(value, type)
            and issubclass(value, BaseException)}
    known = ours | BUILTIN_EXCEPTIONS
    elsewhere = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path == SOURCE / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                         for b in node.bases}
                if bases & known:
                    elsewhere.append(f"{path.relative_to(SOURCE)}: {node.name}")
    assert elsewhere == []


def test_the_docstring_tree_names_every_exception() -> None:
    ours = [name for name, value in vars(errors).items()
            if isinstance(value, type) and issubclass(value, BaseException)]
    assert errors.__doc__ is not None
    assert [name for name in ours if f" {name} " not in errors.__doc__] == []


def test_every_next_step_is_worded_by_the_command_line_and_the_web_app() -> None:
    assert set(CLI_HINTS) == set(Fix) and set(WEB_HINTS) == set(Fix)


@pytest.mark.parametrize("fix", list(Fix))
def test_the_web_names_no_command_line_flag(fix: Fix) -> None:
    error = PaperscopeError("Something is wrong.", fix=fix)
    assert not FLAG.search(web_message(error))
    assert cli_message(error).startswith("Something is wrong. ") and web_message(error).startswith("Something")


def test_library_messages_name_no_command_line_flag() -> None:
    """Messages raised outside the command line say what is wrong; the flags are the command line's hints."""
    flagged = []
    for path in sorted(SOURCE.rglob("*.py")):
        if SOURCE / "cli" in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                text = " ".join(c.value for c in ast.walk(node.exc)
                                if isinstance(c, ast.Constant) and isinstance(c.value, str))
                if FLAG.search(text):
                    flagged.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert flagged == []

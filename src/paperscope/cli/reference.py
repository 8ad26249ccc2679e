"""The generated parts of docs/reference.md: every command's --help and every setting, from the code itself.

    python -m paperscope.cli.reference docs/reference.md          # rewrite the generated parts in place
    python -m paperscope.cli.reference --check docs/reference.md  # exit 1 when they are out of date

A generated part sits between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->`; the rest of the
page is written by hand and left alone. tests/test_docs.py fails when a generated part is out of date.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
from pydantic.fields import FieldInfo

from paperscope.cli import main as root
from paperscope.config import Settings

# Help is laid out for this terminal width, whatever the width of the terminal that generates it.
WIDTH = 100
ENV_PREFIX = "PAPERSCOPE_"


def command_paths(command: click.Command = root, path: tuple[str, ...] = ()
                  ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under `command` (itself first), depth first, subcommands in the order --help lists them."""
    yield path, command
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            sub = command.get_command(click.Context(command), name)
            if sub is not None and not sub.hidden:
                yield from command_paths(sub, (*path, name))


def command_context(path: tuple[str, ...]) -> click.Context:
    """The context `paperscope PATH --help` runs in (parents included, so the usage line names the path)."""
    ctx = root.make_context("paperscope", [], resilient_parsing=True, terminal_width=WIDTH)
    command: click.Command = root
    for name in path:
        assert isinstance(command, click.Group)
        sub = command.get_command(ctx, name)
        assert sub is not None, name
        command = sub
        ctx = command.make_context(name, [], parent=ctx, resilient_parsing=True)
    return ctx


def help_text(path: tuple[str, ...]) -> str:
    """What `paperscope PATH --help` prints."""
    ctx = command_context(path)
    return ctx.command.get_help(ctx)


def render_commands() -> str:
    sections = []
    for path, _command in command_paths():
        title = " ".join(("paperscope", *path))
        sections.append(f"### `{title}`\n\n```text\n{help_text(path)}\n```")
    return "\n\n".join(sections)


def setting_default(field: FieldInfo) -> str:
    """A setting's default as the environment would spell it, or the words of its `default_shown` (a default
    computed at run time, or what None means)."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("default_shown"), str):
        return str(extra["default_shown"])
    value = field.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_settings() -> str:
    rows = ["| variable | default | what |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {_cell(setting_default(field))} | "
                    f"{_cell(field.description or '')} |")
    return "\n".join(rows)


PARTS: dict[str, Callable[[], str]] = {"commands": render_commands, "settings": render_settings}


def _part(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {name} -->\n).*?(^<!-- end generated: {name} -->)", re.S | re.M)


def update(page: str) -> str:
    """The page with every generated part rendered again; a part missing from the page is an error."""
    for name, render in PARTS.items():
        found = _part(name).search(page)
        if found is None:
            raise ValueError(f"the page has no generated part {name!r} (<!-- generated: {name} --> ... "
                             f"<!-- end generated: {name} -->)")
        page = page[:found.end(1)] + render() + "\n" + page[found.start(2):]
    return page


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperscope.cli.reference",
                                     description="Render the generated parts of docs/reference.md.")
    parser.add_argument("page", type=Path, help="the reference page, e.g. docs/reference.md")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the page is out of date")
    args = parser.parse_args(argv)
    current = args.page.read_text(encoding="utf-8")
    updated = update(current)
    if args.check:
        if updated != current:
            print(f"{args.page} is out of date: run python -m paperscope.cli.reference {args.page}", file=sys.stderr)
            return 1
        return 0
    if updated != current:
        args.page.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(run())

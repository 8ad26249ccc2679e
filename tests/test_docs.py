"""Everything a user can set or run is documented, and the reference cannot drift from the code (datasette's habit:
docs/reference.md's generated parts are rendered again here and compared)."""

import re

import click

from paperscope.cli import main
from paperscope.cli.reference import command_paths, update
from paperscope.config import Settings
from tests.conftest import REPO

REFERENCE = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
COMMANDS = {path: command for path, command in command_paths() if path}


def option_names(command: click.Command) -> set[str]:
    """Every spelling of the command's options (--jobs and --no-jobs, -q and --quiet), with the root's --db."""
    names = {"--db", "--help", "-h"}
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def help_section(path: tuple[str, ...]) -> str:
    """The part of the reference under `### paperscope PATH`, up to the next heading."""
    title = " ".join(("paperscope", *path))
    found = re.search(rf"^### `{re.escape(title)}`\n(.*?)(?=^#|\Z)", REFERENCE, re.M | re.S)
    assert found is not None, f"docs/reference.md has no section for {title}"
    return found[1]


def test_the_generated_parts_are_current() -> None:
    assert update(REFERENCE) == REFERENCE, "docs/reference.md is out of date: run " \
                                           "python -m paperscope.cli.reference docs/reference.md"


def test_every_command_has_its_help_with_every_option_and_argument() -> None:
    for path, command in command_paths():
        section = help_section(path)
        assert f"Usage: {' '.join(('paperscope', *path))} " in section
        for param in command.params:
            if isinstance(param, click.Option):
                missing = [name for name in (*param.opts, *param.secondary_opts) if name not in section]
                assert missing == [], f"{path}: {missing}"
            elif isinstance(param, click.Argument):
                assert param.human_readable_name in section, f"{path}: {param.name}"
        if isinstance(command, click.Group):
            assert [name for name in command.commands if f"  {name} " not in section] == []
    sections = re.findall(r"^### `paperscope ?(.*)`$", REFERENCE, re.M)
    assert sorted(sections) == sorted(" ".join(path) for path, _ in command_paths())


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        row = re.search(rf"^\| `PAPERSCOPE_{name.upper()}` \|.*$", REFERENCE, re.M)
        assert row is not None, name
        assert (field.description or "").replace("|", "\\|") in row[0], name


def test_the_command_table_names_every_command_and_only_real_options() -> None:
    """The hand-written table: each command (nested ones too) is there, and each option it names exists on the
    command it goes with (a span like `serve --workers N` names its command; else the row's command counts)."""
    commands_part = REFERENCE.split("## Commands", 1)[1].split("\n#", 1)[0]
    table = [line for line in commands_part.splitlines() if line.startswith("| `")]
    assert [name for name in main.commands if not any(line.startswith(f"| `{name}") for line in table)] == []
    text = "\n".join(table)
    assert [" ".join(path) for path in COMMANDS if f"`{' '.join(path)}" not in text] == []
    wrong = []
    for line in table:
        row_path = _command_at(line[3:])
        assert row_path is not None, line[:60]
        for span in re.findall(r"`([^`]+)`", line):
            path = _command_at(span.removeprefix("paperscope ")) or row_path
            unknown = set(OPTION.findall(span)) - option_names(COMMANDS[path])
            wrong += [f"{' '.join(path)} {name}" for name in sorted(unknown)]
    assert wrong == []


def _command_at(text: str) -> tuple[str, ...] | None:
    """The longest command path `text` starts with, if any."""
    words = text.split()
    for size in (2, 1):
        if tuple(words[:size]) in COMMANDS:
            return tuple(words[:size])
    return None


def test_readme_starts_with_the_install_and_test_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.split("```bash", 1)[1].split("```", 1)[0].splitlines()
                if line.strip() and not line.startswith("#")]
    assert commands[0] == 'pip install torch==2.13.0 && pip install -e ".[all]" && paperscope serve'
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] == 'pip install torch==2.13.0 && pip install -e ".[test]" && python -m pytest -n auto'
    for step in ('"torch==2.13.0"', '-e ".[test]"', "python -m pytest -n auto"):
        assert step in ci

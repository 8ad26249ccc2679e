"""Everything a user can set or run is documented (datasette's habit)."""

from paperscope.cli import main
from paperscope.config import Settings
from tests.conftest import REPO

REFERENCE = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [name for name in Settings.model_fields if f"`PAPERSCOPE_{name.upper()}`" not in REFERENCE]
    assert missing == []


def test_every_command_is_documented() -> None:
    missing = [name for name in main.commands if f"| `{name}" not in REFERENCE]
    assert missing == []


def test_readme_starts_with_the_install_and_test_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.split("```bash", 1)[1].split("```", 1)[0].splitlines()
                if line.strip() and not line.startswith("#")]
    assert commands[0] == 'pip install torch==2.13.0 && pip install -e ".[all]" && paperscope serve'
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] == 'pip install torch==2.13.0 && pip install -e ".[test]" && python -m pytest'
    for step in ('"torch==2.13.0"', '-e ".[test]"', "python -m pytest"):
        assert step in ci

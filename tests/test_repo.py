"""The README's commands and examples stay true: CI runs its test command, its example runs."""

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command():
    commands = [b.strip() for b in _blocks("sh")]
    test_commands = [c for c in commands if "pytest" in c]
    assert len(test_commands) == 1, commands
    ci_script = (ROOT / ".ci" / "run").read_text()
    assert test_commands[0] in ci_script.splitlines()


def test_readme_main_command_builds_boolnet():
    commands = [b.strip() for b in _blocks("sh")]
    assert any(c.endswith("python -m bnnhw.build boolnet --sim") for c in commands), commands


def test_readme_golden_example_runs():
    (example,) = _blocks("python")
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)
    bits = namespace["bits"]
    assert bits.shape == (1, 32, 8, 8)
    assert set(np.unique(bits)) <= {0, 1}

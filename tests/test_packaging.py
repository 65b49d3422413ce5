"""The set-up files agree with each other; every CLI command documents itself."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from indexer.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_installs_the_package_from_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    python = next(d for d in conda if d.startswith("python"))
    assert python.split("=")[-1] in project["requires-python"].replace(">=", "").split(",")[0] + ".x"
    assert "ffmpeg" in conda
    # The package itself comes from pyproject: no second list of libraries to drift.
    assert any(re.fullmatch(r'-e\s+"?\.(\[[a-z,]+\])?"?', p) for p in pip)
    names = {re.split(r"[=<>\[ ]", p)[0].lower() for p in pip if not p.startswith("-")}
    assert names == {"torch"}
    assert "torch==2.13.0" in pip


def test_torch_is_pinned_before_anything_can_pull_it():
    makefile = (ROOT / "Makefile").read_text()
    torch_line = makefile.index("pip install -q torch==2.13.0")
    assert torch_line < makefile.index('pip install -q -e ".[dev]"')


def test_speaker_weights_are_installed_without_their_dependencies():
    """resemblyzer's own dependency webrtcvad needs a compiler: only its weights are used."""
    makefile = (ROOT / "Makefile").read_text()
    line = makefile.index("pip install -q --no-deps resemblyzer==0.1.4")
    assert makefile.index("pip install -q torch==2.13.0") < makefile.index('pip install -q -e ".[dev]"') < line
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.lower().startswith(("resemblyzer", "webrtcvad", "librosa"))
                   for group in [project["dependencies"], *project["optional-dependencies"].values()] for d in group)
    assert "pip install --no-deps resemblyzer==0.1.4" in (ROOT / "environment.yml").read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_ci_runs_every_test_make_test_and_make_test_slow_between_them():
    makefile = (ROOT / "Makefile").read_text()
    recipes = dict(re.findall(r"^(test|test-slow|test-fast): setup\n\t(.+)$", makefile, flags=re.M))
    runner = re.search(r"^PYTEST := (.+)$", makefile, flags=re.M)[1]
    assert not re.search(r"\s-[mk]\s+[\"']", runner)   # the runner itself leaves nothing out
    # Complementary selections: a test is in exactly one of the two.
    assert recipes["test"] == '$(PYTEST) -m "not slow"' and recipes["test-slow"] == "$(PYTEST) -m slow"
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if not line.startswith("#")]
    assert "set -euo pipefail" in ci and ci.index("make test") < ci.index("make test-slow")
    assert recipes["test-fast"] == '$(PYTEST) -m "not weights and not browser and not slow"'
    assert "-n auto" in runner   # pytest-xdist, pinned in pyproject's dev extra


def commands(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command


@pytest.mark.parametrize("path, command", list(commands(main)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_help_with_an_example(path, command):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert command.help and f"Example: indexer {' '.join(path)}" in result.output


def test_python_dash_m_works():
    result = subprocess.run([sys.executable, "-m", "indexer", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "ingest" in result.stdout


# Test files not named after a package: the notebooks, the documentation and the set-up files.
TEST_PREFIXES_BEYOND_THE_PACKAGE = {"notebooks", "docs", "packaging"}


def test_every_test_file_is_named_after_the_package_it_tests():
    """tests/test_<package>.py or tests/test_<package>_<topic>.py, <package> a subpackage or module of
    indexer: the test files sort by package, as the code does."""
    package = ROOT / "indexer"
    names = {p.stem for p in package.glob("*.py")} | {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    names = (names - {"__init__", "__main__"}) | TEST_PREFIXES_BEYOND_THE_PACKAGE
    stray = [p.name for p in sorted((ROOT / "tests").glob("test_*.py"))
             if not any(p.stem == f"test_{n}" or p.stem.startswith(f"test_{n}_") for n in names)]
    assert not stray, f"name these after the package they test (test_<package>_<topic>.py): {stray}"


def test_no_test_module_imports_conftest_or_another_test_module():
    """Shared code lives in tests/helpers/, shared fixtures in conftest.py."""
    offenders = [f"{p.name}: {line.strip()}" for p in sorted((ROOT / "tests").rglob("*.py"))
                 for line in p.read_text(encoding="utf-8").splitlines()
                 if re.match(r"\s*(from|import)\s+(conftest|test_\w+)\b", line)]
    assert not offenders, offenders

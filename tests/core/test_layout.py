"""The layout rules of DESIGN §2, and what the wheel may contain."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dlcourse.manager import BUILTIN_TOPICS

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = ("course", "graders", "plugins", "kernels", "tests")


def test_top_level_folders_are_never_packages():
    for folder in TOP_LEVEL:
        assert not (ROOT / folder / "__init__.py").exists(), folder
    assert not list((ROOT / "kernels").rglob("__init__.py"))
    assert not list((ROOT / "tests").rglob("__init__.py"))


def test_every_topic_package_is_named_dlcourse_something():
    for child in (ROOT / "plugins").iterdir():
        if child.name != "__pycache__":
            assert child.name.startswith("dlcourse_") and (child / "__init__.py").is_file(), child.name


def test_every_topic_is_listed_in_the_wheel_and_registered():
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"][
        "packages"]
    topics = sorted(p.name for p in (ROOT / "plugins").iterdir() if p.name.startswith("dlcourse_"))
    assert sorted(p.split("/")[-1] for p in packages if p.startswith("plugins/")) == topics
    assert sorted(BUILTIN_TOPICS) == topics


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True)
    return next(out.glob("dlcourse-*.whl"))


def _solution_blocks(text: str) -> list[str]:
    blocks, current, inside = [], [], False
    for line in text.splitlines():
        if "### BEGIN SOLUTION" in line:
            inside, current = True, []
        elif "### END SOLUTION" in line:
            inside = False
            blocks.append("\n".join(current))
        elif inside and line.strip():
            current.append(line.strip())
    return [b for b in blocks if b.count("\n") >= 1 or len(b) > 40]


def _secrets() -> set[str]:
    """Every multi-line solution region of every topic source, and every hidden check definition."""
    secrets = set()
    for source in (ROOT / "plugins").glob("*/notebooks/*.py"):
        secrets |= set(_solution_blocks(source.read_text(encoding="utf-8")))
    for hidden in (ROOT / "plugins").glob("*/hidden/*.py"):
        secrets |= {line.strip() for line in hidden.read_text(encoding="utf-8").splitlines()
                    if line.startswith("def ")}
    return secrets


def test_wheel_holds_no_solution_and_no_hidden_check(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if "/notebooks/" in n or "/hidden/" in n]
    shipped = "\n".join(
        "\n".join(line.strip() for line in zipfile.ZipFile(wheel).read(n).decode("utf-8", "replace").splitlines()
                  if line.strip())
        for n in names)
    secrets = _secrets()
    assert len(secrets) > 10, "the topics' solutions and hidden checks were not found"
    assert not [block for block in secrets if block in shipped]


def test_wheel_top_level_names_and_kernelspec(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("dlcourse-")}
    assert top == {"dlcourse", "dlcourse_graders", *BUILTIN_TOPICS}
    assert any(n.endswith("data/share/jupyter/kernels/dlcourse-py3/kernel.json") for n in names)
    assert "dlcourse_perceptron/widgets.py" in names and "dlcourse_perceptron/data.py" in names


def test_wheel_ships_the_test_kit_and_the_new_topic_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    from dlcourse.scaffold import FILES

    assert "dlcourse/testing.py" in names and "dlcourse/scaffold.py" in names
    assert {f"dlcourse/topic_template/{template}" for template in FILES} <= names

"""The shipped hub config's `dlcourse serve` entry, read by JupyterHub's own config loader (no hub started)."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[2] / "kernels" / "hub" / "jupyterhub_config.py"


def hub_settings(monkeypatch: pytest.MonkeyPatch, **environment: str):
    """A JupyterHub application configured by the shipped file under ``environment``."""
    from jupyterhub.app import JupyterHub
    from traitlets.config.loader import PyFileConfigLoader

    for name in [n for n in __import__("os").environ if n.startswith("DLCOURSE_HUB_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = PyFileConfigLoader(CONFIG.name, str(CONFIG.parent)).load_config()
    return JupyterHub(config=config)


def test_no_service_unless_a_course_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = hub_settings(monkeypatch)
    assert hub.services == [] and hub.load_roles == []


def test_the_service_runs_as_the_instructor_on_their_course_and_everyone_may_open_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hub = hub_settings(monkeypatch, DLCOURSE_HUB_SERVICE_COURSE=str(tmp_path / "course"),
                       DLCOURSE_HUB_SERVICE_SRC=str(tmp_path / "src"), DLCOURSE_HUB_INSTRUCTORS="prof,ta",
                       DLCOURSE_HUB_STUDENTS="alice,bob", DLCOURSE_HUB_SERVICE_PORT="10222")
    [service] = hub.services
    assert service["name"] == "dlcourse" and service["user"] == "prof"
    assert service["command"][-4:] == ["dlcourse.cli", "serve", "--course", str(tmp_path / "course")]
    assert service["url"] == "http://127.0.0.1:10222" and service["cwd"] == str(tmp_path / "course")
    assert service["environment"]["DLCOURSE_SERVICE_INSTRUCTORS"] == "prof,ta"
    assert service["environment"]["PYTHONPATH"].split(":") == [str(tmp_path / "src" / d)
                                                                for d in ("course", "graders", "plugins")]
    assert service["oauth_client_allowed_scopes"] == []  # it identifies people, nothing more
    [role] = hub.load_roles
    assert role["scopes"] == ["access:services!service=dlcourse"]
    assert role["users"] == ["alice", "bob", "prof", "ta"]

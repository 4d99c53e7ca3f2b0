"""The gradebook on a real PostgreSQL server that the test starts on 127.0.0.1."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import DLCOURSE, run_cli
from dlcourse.coursedir import Course
from dlcourse.nbgrader_ops import generate_assignment
from dlcourse_graders.gradebook import open_gradebook
from dlcourse_graders.simulate import simulate_class

pytestmark = pytest.mark.slow


def _server_binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to its own user when we are root."""
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", *command] if os.geteuid() == 0 \
        else command


@pytest.fixture(scope="module")
def postgres_port():
    """A real PostgreSQL server on 127.0.0.1 for this module; yields its port."""
    initdb, pg_ctl = _server_binary("initdb"), _server_binary("pg_ctl")
    if not initdb or not pg_ctl:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing: `make test` installs them (package postgresql)")
        pytest.skip("PostgreSQL server binaries are not installed")
    root = Path(tempfile.mkdtemp(prefix="dlcourse-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-U", "dlcourse", "--auth=trust"]), check=True,
                   capture_output=True)
    subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-w", "-l", str(data / "server.log"), "-o",
                                 f"-h 127.0.0.1 -p {port} -k {data}", "start"]), check=True, capture_output=True)
    try:
        yield port
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_port, request):
    """A fresh, empty gradebook database on the module's server."""
    import psycopg

    name = "gradebook_" + request.node.name.lower().replace("-", "_")[:40]
    with psycopg.connect(f"host=127.0.0.1 port={postgres_port} user=dlcourse dbname=postgres",
                         autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://dlcourse@127.0.0.1:{postgres_port}/{name}"


def _use_gradebook(course, url: str) -> None:
    config = course.config_file
    config.write_text(config.read_text() + f"\nc.CourseDirectory.db_url = {url!r}\n")
    assert course.db_url == url


def test_concurrent_runs_on_a_postgresql_gradebook(toy_course, toy_env, postgres_url):
    _use_gradebook(toy_course, postgres_url)
    generate_assignment(toy_course, "toy")
    simulate_class(toy_course, "toy")
    command = [*DLCOURSE, "grade", "toy", "--course", str(toy_course.root), "--wall-limit", "6"]
    runs = [subprocess.Popen(command, env=toy_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert not (toy_course.root / "gradebook.db").exists(), "nothing went to SQLite"
    with open_gradebook(toy_course) as gb:
        assert {s.student.id: s.score for s in gb.assignment_submissions("toy")} == {
            "perfect": 5.0, "untouched": 0.0, "partial": 2.0, "crasher": 2.0, "looper": 2.0}
    exported = run_cli("export", "--course", str(toy_course.root), env=toy_env)
    assert exported.returncode == 0, exported.stderr
    rows = (toy_course.root / "grades.csv").read_text()
    assert "toy,crasher,2,5,crashed" in rows and "toy,looper,2,5,timed out" in rows


def test_coordinators_on_two_machines_take_turns(toy_course, toy_env, postgres_url):
    """Two course folders (as on two machines, so no shared lock file) and one gradebook:
    the database lock makes the second run wait, then find every submission already graded."""
    _use_gradebook(toy_course, postgres_url)
    generate_assignment(toy_course, "toy")
    simulate_class(toy_course, "toy")
    elsewhere = Course(toy_course.root.parent / "other-machine")
    shutil.copytree(toy_course.root, elsewhere.root)
    runs = [subprocess.Popen([*DLCOURSE, "grade", "toy", "--course", str(course.root), "--wall-limit", "6"],
                             env=toy_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for course in (toy_course, elsewhere)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    waited = [index for index, (_, err) in enumerate(outputs) if "waiting for it" in err]
    assert len(waited) == 1 and "against this gradebook" in outputs[waited[0]][1], outputs
    second_out = outputs[waited[0]][0]
    assert second_out.count("unchanged since last grading") == 5, second_out
    with open_gradebook(toy_course) as gb:
        assert {s.student.id: s.score for s in gb.assignment_submissions("toy")} == {
            "perfect": 5.0, "untouched": 0.0, "partial": 2.0, "crasher": 2.0, "looper": 2.0}


def test_a_killed_run_releases_the_database_lock(postgres_url, tmp_path):
    """The advisory lock belongs to the connection: SIGKILL of its holder frees it at once."""
    import sqlalchemy as sa

    from dlcourse_graders.locks import advisory_key

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from dlcourse_graders.locks import database_lock\n"
        f"with database_lock({postgres_url!r}, 'toy'):\n"
        "    print('held', flush=True); time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
        probe = sa.text("SELECT pg_try_advisory_lock(:key)")
        with engine.connect() as connection:
            assert connection.execute(probe, {"key": advisory_key("toy")}).scalar() is False
        holder.kill()
        holder.wait(timeout=30)
        with engine.connect() as connection:
            assert connection.execute(probe, {"key": advisory_key("toy")}).scalar() is True
        engine.dispose()
    finally:
        holder.kill()

"""The sandbox against real, bounded attacks: each test spawns a real child process."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from dlcourse.checking import StudentError
from dlcourse_graders.results import Status
from dlcourse_graders.sandbox import Sandbox, SandboxCrash, SandboxLimits

CAPS = Sandbox.capabilities()
QUICK = SandboxLimits(wall_seconds=20, cpu_seconds=20)
# Finds the child's private channel fd the way an attacker would.
CHANNEL_FD = "import gc\n_fd = [o for o in gc.get_objects() if type(o).__name__ == 'Server'][0].fd_out\n"


def sandbox(**kwargs: object) -> Sandbox:
    kwargs.setdefault("limits", QUICK)
    return Sandbox(**kwargs)  # type: ignore[arg-type]


def test_exec_and_call_round_trip_numpy() -> None:
    with sandbox(files={"data.txt": b"3"}) as box:
        cell = box.exec("import numpy as np\n"
                        "def affine(x, w, b=0.0):\n    return x @ w + b, {'shape': x.shape, 'ok': True}\n"
                        "print(open('data.txt').read())")
        assert cell["error"] is None and cell["stdout"] == "3\n"
        student = box.student()
        assert student.has("affine") and not student.has("missing")
        x, w = np.arange(6.0).reshape(2, 3), np.ones((3, 2), dtype=np.float32)
        out, meta = student.call("affine", x, w, b=1.5)
        assert isinstance(out, np.ndarray) and np.allclose(out, x @ w + 1.5)
        assert meta == {"shape": (2, 3), "ok": True}
        with pytest.raises(StudentError, match="not defined"):
            student.call("missing")
        box.exec("def broken(x):\n    raise ValueError('bad input')")
        with pytest.raises(StudentError, match="ValueError: bad input"):
            student.call("broken", 1)
        box.exec("def mlp_forward(params, X):\n    return _unfinished(X)\n"
                 "def _unfinished(X):\n    raise NotImplementedError()")
        with pytest.raises(StudentError, match="^`_unfinished` is not implemented yet$"):  # not the driver's name
            student.run("dlcourse_perceptron.drivers:mlp_forward_probs", {}, np.ones((2, 2)))
    assert box.failure is None


def test_non_plain_return_refused_without_unpickling(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with sandbox() as box:
        box.exec(f"import os\nclass Evil:\n    def __reduce__(self):\n        return (os.system, ('touch {marker}',))\n"
                 "def get():\n    return [1, Evil()]")
        with pytest.raises(StudentError, match="type Evil"):
            box.student().call("get")
        # A forged reply carrying a pickled object array straight onto the channel.
        box.exec(CHANNEL_FD + "import base64, io, json, numpy as np\nfrom dlcourse_graders.sandbox_child import "
                 "write_frame\nbuf = io.BytesIO()\nnp.save(buf, np.array([Evil()], dtype=object), allow_pickle=True)\n"
                 "def forge():\n    write_frame(_fd, {'ok': True, 'value': {'__nd__': "
                 "base64.b64encode(buf.getvalue()).decode()}})\n    os._exit(0)")
        with pytest.raises(StudentError, match="malformed array"):
            box.student().call("forge")
    assert not marker.exists()


def test_garbage_on_channel_is_a_crash_of_the_submission() -> None:
    with sandbox() as box:
        box.exec(CHANNEL_FD + "def spoil():\n    os.write(_fd, (2**40).to_bytes(8, 'big') + b'x')\nimport os")
        with pytest.raises(SandboxCrash) as crash:
            box.student().call("spoil")
        assert crash.value.status is Status.CRASHED
    assert not box.leftovers()


def test_os_exit_is_reported_as_crash() -> None:
    with sandbox() as box:
        with pytest.raises(SandboxCrash) as crash:
            box.exec("import os\nos._exit(1)")
        assert crash.value.status is Status.CRASHED and "exit code 1" in str(crash.value)
        with pytest.raises(SandboxCrash):  # later requests report the same failure
            box.student().call("anything")
    assert not box.leftovers()


def test_infinite_loop_killed_at_wall_limit() -> None:
    began = time.monotonic()
    with sandbox(limits=SandboxLimits(wall_seconds=2, cpu_seconds=30)) as box:
        box.exec("import subprocess\nsubprocess.Popen(['sleep', '30'])")  # a grandchild must die too
        with pytest.raises(SandboxCrash) as crash:
            box.exec("while True:\n    pass")
        assert crash.value.status is Status.TIMED_OUT
        assert not box.leftovers()
    assert time.monotonic() - began < 8


def test_cpu_limit_is_a_resource_limit() -> None:
    with sandbox(limits=SandboxLimits(wall_seconds=15, cpu_seconds=1)) as box, pytest.raises(SandboxCrash) as crash:
        box.exec("while True:\n    pass")
    assert crash.value.status is Status.RESOURCE_LIMIT


def test_memory_bomb_is_a_memory_error_inside() -> None:
    with sandbox(limits=SandboxLimits(address_space=2**30, wall_seconds=20)) as box:
        # np.empty does not touch pages: harmless even if the limit failed.
        cell = box.exec("import numpy as np\nx = np.empty(8 * 2**30, dtype=np.uint8)")
        assert cell["error"] and cell["error"]["ename"] == "MemoryError"
        box.exec("def one():\n    return 1")
        assert box.student().call("one") == 1


@pytest.mark.skipif(not CAPS["drop_privileges"]["active"], reason=CAPS["drop_privileges"]["reason"])
def test_process_spray_refused_and_cleaned_up() -> None:
    spray = ("import os, time\nforked = refused = 0\nfor _ in range(300):\n    try:\n        pid = os.fork()\n"
             "    except OSError:\n        refused += 1\n        break\n    if pid == 0:\n        time.sleep(1)\n"
             "        os._exit(0)\n    forked += 1\n")
    with sandbox(limits=SandboxLimits(max_processes=32, wall_seconds=20)) as box:
        cell = box.exec(spray + "def counts():\n    return forked, refused")
        assert cell["error"] is None
        forked, refused = box.student().call("counts")
        assert refused == 1 and forked < 32
    assert not box.leftovers()


@pytest.mark.skipif(not CAPS["drop_privileges"]["active"], reason=CAPS["drop_privileges"]["reason"])
def test_runs_unprivileged_and_cannot_read_private_files() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        os.chmod(scratch, 0o755)  # reachable, so only the file's own mode protects it
        secret, hidden = Path(scratch, "gradebook.db"), Path(scratch, "hidden")
        secret.write_text("expected answers")
        secret.chmod(0o600)
        hidden.mkdir()
        (hidden / "checks.py").write_text("EXPECTED = 42")
        (hidden / "checks.py").chmod(0o644)
        with sandbox(hide=[hidden]) as box:
            box.exec("import os\ndef probe(path):\n    try:\n        return open(path).read()\n"
                     "    except OSError as e:\n        return type(e).__name__\ndef uid():\n    return os.getuid()")
            student = box.student()
            assert student.call("uid") != 0
            # outside the allow list the file is not there at all; in the weaker sandbox its mode keeps it out
            refusal = "FileNotFoundError" if CAPS["filesystem"]["active"] else "PermissionError"
            assert student.call("probe", str(secret)) == refusal
            if CAPS["mount_namespace"]["active"]:
                assert student.call("probe", str(hidden / "checks.py")) != "EXPECTED = 42"


@pytest.mark.skipif(not CAPS["network_namespace"]["active"], reason=CAPS["network_namespace"]["reason"])
def test_loopback_network_is_cut() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with sandbox() as box:
            box.exec(f"import socket\ndef connect():\n    try:\n        socket.create_connection(('127.0.0.1', {port}),"
                     f" timeout=2).close()\n        return 'connected'\n    except OSError as e:\n"
                     f"        return type(e).__name__")
            assert box.student().call("connect") != "connected"


def test_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    with sandbox(seed=7) as box:
        box.exec("import os\ndef env():\n    return dict(os.environ)")
        env = box.student().call("env")
    assert "SECRET_TOKEN" not in env and "hunter2" not in repr(env)
    assert set(env) <= {"PATH", "HOME", "LANG", "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                        "DLCOURSE_GRADING_SEED"}
    assert env["DLCOURSE_GRADING_SEED"] == "7" and env["HOME"] == str(box.workdir)


def test_huge_print_capped_and_noise_does_not_corrupt_channel() -> None:
    with sandbox() as box:
        cell = box.exec("print('x' * 200_000_000)")
        assert len(cell["stdout"]) < 70_000 and "truncated" in cell["stdout"]
        cell = box.exec("import os, sys, subprocess\nos.write(1, b'\\x00\\x00\\x00\\x00garbage' * 1000)\n"
                        "os.write(2, b'noise')\nsys.__stdout__.write('more noise')\nsys.__stdout__.flush()\n"
                        "subprocess.run(['echo', 'from a subprocess'])\ndef ok():\n    print('chatty')\n    return 'ok'")
        assert cell["error"] is None
        assert box.student().call("ok") == "ok"


def test_seeded_from_grading_seed() -> None:
    draws = []
    for _ in range(2):
        with sandbox(seed=11) as box:
            box.exec("import random, numpy as np\ndef draw():\n    return random.random(), np.random.rand(2)")
            draws.append(box.student().call("draw"))
    assert draws[0][0] == draws[1][0] and np.array_equal(draws[0][1], draws[1][1])


def test_tmp_and_shared_memory_are_private_to_each_submission() -> None:
    """One submission cannot leave notes in /tmp or /dev/shm for the next (same worker, same zygote)."""
    note = "import os\nfor folder in ('/tmp', '/dev/shm'):\n    open(os.path.join(folder, 'note'), 'w').write('hi')\n"
    look = "import os\ndef notes():\n    return [f for d in ('/tmp', '/dev/shm') for f in os.listdir(d) if f == 'note']"
    with sandbox() as first:
        assert first.exec(note)["error"] is None
        first.exec(look)
        assert first.student().call("notes") == ["note", "note"]
    with sandbox() as second:
        second.exec(look)
        assert second.student().call("notes") == []
    assert first.isolation == second.isolation == "allow-list"

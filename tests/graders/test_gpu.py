"""GPU sharing: slots, the device a sandbox sees, and the CPU fallback."""

from __future__ import annotations

import pytest

from dlcourse_graders import gpu
from dlcourse_graders.gpu import CPU_ENV, device_env, try_acquire_slot, visible_gpus
from dlcourse_graders.sandbox import Sandbox, SandboxLimits


@pytest.fixture
def slot_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu, "_slot_folder", lambda: tmp_path)
    return tmp_path


def test_slots_are_shared_between_holders(slot_dir):
    first, second = try_acquire_slot(1, 2), try_acquire_slot(1, 2)
    assert first is not None and second is not None and first[0] == second[0] == 0
    assert try_acquire_slot(1, 2) is None, "a third submission waits for a slot"
    import os

    os.close(first[1])
    again = try_acquire_slot(1, 2)
    assert again is not None
    for held in (second, again):
        os.close(held[1])


def test_two_gpus_spread_submissions(slot_dir):
    taken = [try_acquire_slot(2, 1), try_acquire_slot(2, 1)]
    assert sorted(t[0] for t in taken) == [0, 1]
    assert try_acquire_slot(2, 1) is None


def test_device_env_picks_a_gpu_slot_or_the_cpu(slot_dir, monkeypatch):
    monkeypatch.setattr(gpu, "visible_gpus", lambda: 1)
    with device_env("auto", 1) as env:
        assert env == {"DLCOURSE_DEVICE": "cuda", "CUDA_VISIBLE_DEVICES": "0"}
        assert try_acquire_slot(1, 1) is None, "the slot is held while the submission runs"
    assert try_acquire_slot(1, 1) is not None, "and released afterwards"
    with device_env("cpu", 1) as env:
        assert env == CPU_ENV
    monkeypatch.setattr(gpu, "visible_gpus", lambda: 0)
    with device_env("auto", 1) as env:
        assert env == CPU_ENV


def test_the_sandbox_sees_only_the_device_it_was_given():
    code = "import os, resource\ndef probe():\n    return [os.environ.get('DLCOURSE_DEVICE'), " \
           "os.environ.get('CUDA_VISIBLE_DEVICES'), resource.getrlimit(resource.RLIMIT_AS)[0]]"
    with Sandbox({}, limits=SandboxLimits(address_space=0, wall_seconds=20), env=CPU_ENV) as box:
        box.exec(code)
        device, visible, address_space = box.student().call("probe")
    import resource

    assert (device, visible, address_space) == ("cpu", "", resource.RLIM_INFINITY)
    with pytest.raises(ValueError, match="accepts only"):
        Sandbox({}, env={"AWS_SECRET_ACCESS_KEY": "x"})


@pytest.mark.skipif(visible_gpus() == 0, reason="no GPU visible on this machine")
def test_a_submission_runs_on_the_gpu_when_there_is_one(slot_dir):
    code = "import torch\ndef where():\n    return str(torch.ones(2, device='cuda').device)"
    with device_env("auto", 1) as env, \
            Sandbox({}, limits=SandboxLimits(address_space=0, wall_seconds=120), env=env,
                    preload=("numpy", "torch")) as box:
        box.exec(code)
        assert box.student().call("where") == "cuda:0"

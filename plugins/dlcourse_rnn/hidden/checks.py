"""Hidden checks for the recurrent-networks assignment.

Each check draws fresh inputs and shapes from ``rng``, sends them to the
student through :class:`dlcourse.checking.Student` and compares what comes
back with its own float64 PyTorch oracle (``nn.RNNCell``, ``nn.RNN``,
``nn.LSTMCell``, ``nn.LSTM``, autograd, ``clip_grad_norm_``) or with a
behavioural property (a trained model's error on held-out sequences that the
student never saw). Messages say what is wrong and on which shape, never the
expected values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from dlcourse.checking import (
    CaseResult,
    Student,
    StudentError,
    case_failed,
    case_reweighted,
    case_verdict,
    compare_array,
    float64_tensor,
)
from dlcourse.types import Check
from dlcourse_rnn.data import ADDING_BASELINE_MSE, make_adding_problem, make_sine_series, make_windows

TOPIC = "rnn"
DRIVERS = "dlcourse_rnn.drivers"
PARAM_KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")
GATE_NAMES = ("i", "f", "g", "o")

#: Held-out levels for the trained models (the solution reaches about 0.02
#: and 0.002; see the topic's tests for the measured spread over seeds).
FORECAST_MAX_MSE = 0.045
ADDING_MAX_MSE = 0.05
ADDING_CLEARLY_BETTER = 0.12


# ----------------------------------------------------------------- helpers


def _call(student: Student, name: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    try:
        return student.call(name, *args, **kwargs), None
    except StudentError as error:
        return None, str(error)


def _run(student: Student, driver: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    """Run a driver; its errors name the student's code, not the driver."""
    try:
        return student.run(f"{DRIVERS}:{driver}", *args, **kwargs), None
    except StudentError as error:
        return None, str(error).replace(f"`{driver}`", "your code")


def _close(got: Any, expected: np.ndarray, atol: float = 1e-10, rtol: float = 1e-8) -> bool:
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == expected.shape and bool(np.allclose(got, expected, atol=atol, rtol=rtol))


def _sizes(rng: np.random.Generator, square: bool = False) -> tuple[int, int, int]:
    """(N, D, H) with D != H unless ``square``, so an untransposed weight fails loudly."""
    n, d, h = (int(v) for v in rng.integers(2, 7, size=3))
    if square:
        return n, h, h
    if d == h:
        d = h + 1
    return n, d, h


def _params(rng: np.random.Generator, d: int, h: int, gates: int,
            scale: float = 0.6) -> dict[str, np.ndarray]:
    rows = gates * h
    return {
        "W_ih": scale * rng.normal(size=(rows, d)),
        "W_hh": scale * rng.normal(size=(rows, h)),
        "b_ih": scale * rng.normal(size=rows),
        "b_hh": scale * rng.normal(size=rows),
    }


def _module(module: nn.Module, params: dict[str, np.ndarray], grad: bool = False) -> nn.Module:
    """``module`` in float64 holding ``params`` (PyTorch's own layout)."""
    module = module.double()
    suffix = "_l0" if isinstance(module, (nn.RNN, nn.LSTM)) else ""
    with torch.no_grad():
        for key, name in zip(PARAM_KEYS, ("weight_ih", "weight_hh", "bias_ih", "bias_hh"), strict=True):
            getattr(module, name + suffix).copy_(float64_tensor(params[key]))
    module.requires_grad_(grad)
    return module


def _pair(got: Any, what: str) -> tuple[Any, Any]:
    """Unpack a returned pair, or raise ValueError with a student-safe message."""
    if isinstance(got, (tuple, list)) and len(got) == 2:
        return got[0], got[1]
    raise ValueError(f"should return the pair {what}")


# ---------------------------------------------------------------- 1 rnn_step


def _rnn_step_oracle(x: np.ndarray, h: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        return _module(nn.RNNCell(x.shape[1], h.shape[1]), params)(float64_tensor(x), float64_tensor(h)).numpy()


def _rnn_step_hint(got: Any, x: np.ndarray, h: np.ndarray, params: dict[str, np.ndarray]) -> str:
    pre = x @ params["W_ih"].T + params["b_ih"] + h @ params["W_hh"].T + params["b_hh"]
    if _close(got, pre):
        return "apply tanh to the sum"
    for key in ("b_ih", "b_hh"):
        if _close(got, np.tanh(pre - params[key])):
            return "add both biases, b_ih and b_hh"
    if _close(got, np.tanh(pre - h @ params["W_hh"].T + h @ params["W_hh"])):
        return "multiply the state by the transposed weight: h_prev @ W_hh.T"
    if x.shape[1] == h.shape[1] and _close(got, np.tanh(pre - x @ params["W_ih"].T + x @ params["W_ih"])):
        return "multiply the input by the transposed weight: x_t @ W_ih.T"
    return "h = tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)"


def check_rnn_step(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    cases = [("random", False, False, 2.0), ("square weights, D = H", True, False, 1.0),
             ("zero input and state", False, True, 1.0)]
    for what, square, zero, weight in cases:
        n, d, h = _sizes(rng, square)
        params = _params(rng, d, h, 1)
        x = np.zeros((n, d)) if zero else rng.normal(size=(n, d))
        h_prev = np.zeros((n, h)) if zero else rng.normal(size=(n, h))
        label = f"rnn_step with x {x.shape}, h_prev {h_prev.shape} ({what})"
        got, error = _call(student, "rnn_step", x, h_prev, params)
        if error:
            yield case_failed(label, error, weight)
            continue
        hint = "with x = 0 and h_prev = 0 only the biases remain: are both added?" if zero else \
            _rnn_step_hint(got, x, h_prev, params)
        expected = _rnn_step_oracle(x, h_prev, params)
        yield case_reweighted(compare_array(label, got, expected, atol=1e-10, rtol=1e-8, hint=hint), weight)


# ------------------------------------------------------------- 2 rnn_forward


def _rnn_layer_oracle(x: np.ndarray, h0: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        layer = _module(nn.RNN(x.shape[2], h0.shape[1], batch_first=True), params)
        return layer(float64_tensor(x), float64_tensor(h0)[None])[0].numpy()


def check_rnn_forward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for what, steps, weight in [("random", int(rng.integers(3, 9)), 2.0),
                                ("random", int(rng.integers(3, 9)), 1.0), ("one step", 1, 1.0)]:
        n, d, h = _sizes(rng)
        params = _params(rng, d, h, 1)
        x, h0 = rng.normal(size=(n, steps, d)), rng.normal(size=(n, h))
        label = f"rnn_forward on x {x.shape} with h0 {h0.shape} ({what})"
        got, error = _run(student, "rnn_forward_states", x, h0, params)
        if error:
            yield case_failed(label, error, weight)
            continue
        expected = _rnn_layer_oracle(x, h0, params)
        hint = "hs[:, t] is the state after step t; carry each new state into the next step"
        shifted = np.concatenate([h0[:, None], expected[:, :-1]], axis=1)
        if steps > 1 and _close(got, shifted):
            hint = "off by one step: hs[:, t] is the state after reading x[:, t], not before"
        elif _close(got, np.tanh(np.einsum("ntd,hd->nth", x, params["W_ih"]) + params["b_ih"]
                                  + (h0 @ params["W_hh"].T)[:, None] + params["b_hh"])):
            hint = "every step starts from h0: feed each new state into the next step"
        yield case_reweighted(compare_array(label, got, expected, atol=1e-10, rtol=1e-8, hint=hint), weight)


# ------------------------------------------------------------ 3 rnn_backward


def _rnn_autograd(x: np.ndarray, h0: np.ndarray, params: dict[str, np.ndarray], dhs: np.ndarray,
                  *, through_time: bool = True) -> dict[str, np.ndarray]:
    """Gradients of sum(hs * dhs); with ``through_time=False`` the recurrence is cut (a wrong BPTT)."""
    xt, h0t = float64_tensor(x, grad=True), float64_tensor(h0, grad=True)
    if through_time:
        layer = _module(nn.RNN(x.shape[2], h0.shape[1], batch_first=True), params, grad=True)
        hs, _ = layer(xt, h0t[None])
        leaves = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0]
    else:
        leaves = [float64_tensor(params[key], grad=True) for key in PARAM_KEYS]
        w_ih, w_hh, b_ih, b_hh = leaves
        h, states = h0t, []
        for t in range(x.shape[1]):
            h = torch.tanh(xt[:, t] @ w_ih.T + b_ih + h.detach() @ w_hh.T + b_hh) if t else \
                torch.tanh(xt[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
            states.append(h)
        hs = torch.stack(states, dim=1)
    grads = torch.autograd.grad((hs * float64_tensor(dhs)).sum(), [xt, h0t, *leaves])
    return dict(zip(("x", "h0", *PARAM_KEYS), (g.numpy() for g in grads), strict=True))


_BPTT_HINTS = {
    "x": "dx_t = (dL/da_t) @ W_ih at every step",
    "h0": "dh0 is what flows out of step 0 into the initial state: (dL/da_0) @ W_hh",
    "W_ih": "dW_ih sums (dL/da_t).T @ x_t over all steps",
    "W_hh": "dW_hh sums (dL/da_t).T @ h_{t-1} over all steps, with h_{-1} = h0",
    "b_ih": "db_ih sums dL/da_t over the batch and over all steps",
    "b_hh": "db_hh sums dL/da_t over the batch and over all steps (it equals db_ih)",
}


def _bptt_cases(student: Student, x: np.ndarray, h0: np.ndarray, params: dict[str, np.ndarray],
                dhs: np.ndarray, where: str, keys: tuple[str, ...], weight: float) -> Iterable[CaseResult]:
    got, error = _run(student, "rnn_backward_grads", x, h0, params, dhs)
    if error:
        yield case_failed(f"rnn_backward {where}", error, weight * len(keys))
        return
    expected = _rnn_autograd(x, h0, params, dhs)
    cut = _rnn_autograd(x, h0, params, dhs, through_time=False)
    for key in keys:
        label = f"rnn_backward: d{key} {where}"
        if key not in got:
            yield case_failed(label, f"the gradient dict has no key {key!r}", weight)
            continue
        hint = _BPTT_HINTS[key]
        if x.shape[1] > 1 and _close(got[key], cut[key], 1e-10, 1e-7):
            hint = ("the gradient does not flow back through time: add (dL/da_{t+1}) @ W_hh to the gradient "
                    "at h_t")
        yield case_reweighted(compare_array(label, got[key], expected[key], atol=1e-10, rtol=1e-7, hint=hint), weight)


def check_rnn_backward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    keys = ("x", "h0", *PARAM_KEYS)
    for _ in range(2):
        n, d, h = _sizes(rng)
        steps = int(rng.integers(3, 8))
        params = _params(rng, d, h, 1)
        x, h0, dhs = rng.normal(size=(n, steps, d)), rng.normal(size=(n, h)), rng.normal(size=(n, steps, h))
        where = f"on x {x.shape}, h0 {h0.shape}, gradient at every step"
        yield from _bptt_cases(student, x, h0, params, dhs, where, keys, 0.5)
    n, d, h = _sizes(rng)
    steps = int(rng.integers(6, 12))
    params = _params(rng, d, h, 1)
    x, h0 = rng.normal(size=(n, steps, d)), rng.normal(size=(n, h))
    dhs = np.zeros((n, steps, h))
    dhs[:, -1] = rng.normal(size=(n, h))
    where = f"on x {x.shape}, gradient at the last step only"
    yield from _bptt_cases(student, x, h0, params, dhs, where, ("x", "h0", "W_hh"), 0.5)


# -------------------------------------------------------------------- 4 clip


def _clip_oracle(grads: dict[str, np.ndarray], max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    tensors = {key: torch.zeros(value.shape, dtype=torch.float64, requires_grad=True)
               for key, value in grads.items()}
    for key, tensor in tensors.items():
        tensor.grad = float64_tensor(grads[key])
    total = nn.utils.clip_grad_norm_(list(tensors.values()), max_norm)
    return {key: tensor.grad.numpy() for key, tensor in tensors.items()}, float(total)


def _random_grads(rng: np.random.Generator) -> dict[str, np.ndarray]:
    count = int(rng.integers(2, 5))
    names = rng.permutation(["W_ih", "W_hh", "b_ih", "b_hh", "w_out", "b_out"])[:count]
    grads = {}
    for name in names:
        shape = tuple(int(s) for s in rng.integers(1, 6, size=int(rng.integers(1, 3))))
        grads[str(name)] = rng.normal(size=shape)
    return grads


def check_clip(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    grads = _random_grads(rng)
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    max_norm = float(norm * rng.uniform(0.1, 0.6))
    label = f"clip_grad_norm of {len(grads)} arrays above max_norm"
    got, error = _run(student, "clip_and_keep_input", grads, max_norm)
    if error:
        yield case_failed(label, error, 3.0)
    else:
        clipped, total, after = got
        expected, expected_total = _clip_oracle(grads, max_norm)
        ok = abs(total - expected_total) <= 1e-9 * expected_total
        yield case_verdict(ok, f"{label} (total_norm)", "ok",
                       "total_norm is the L2 norm of all arrays together, before clipping", 0.5)
        per_array = {key: value * min(1.0, max_norm / (np.linalg.norm(value) + 1e-6))
                     for key, value in grads.items()}
        hint = "scale every array by the same factor max_norm / (total_norm + 1e-6)"
        if all(key in clipped and _close(clipped[key], per_array[key], 1e-9, 1e-6) for key in grads):
            hint = "each array was clipped by its own norm: use the norm of all arrays together"
        keys_ok = set(clipped) == set(grads)
        ok = keys_ok and all(_close(clipped[key], expected[key], 1e-9, 1e-6) for key in grads)
        shapes = ", ".join(str(value.shape) for value in grads.values())
        yield case_verdict(ok, f"{label} (clipped arrays of shapes {shapes})", "ok",
                       hint if keys_ok else "return a dict with the same keys as grads", 2.0)
        ok = all(key in after and _close(after[key], grads[key], 0.0, 0.0) for key in grads)
        yield case_verdict(ok, f"{label} (input)", "left unchanged",
                       "the arrays passed in were changed: return new arrays instead", 0.5)
    grads = _random_grads(rng)
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    max_norm = float(norm * rng.uniform(1.5, 4.0))
    label = f"clip_grad_norm of {len(grads)} arrays below max_norm"
    got, error = _run(student, "clip_and_keep_input", grads, max_norm)
    if error:
        yield case_failed(label, error, 1.0)
    else:
        clipped, total, _ = got
        ok = set(clipped) == set(grads) and all(_close(clipped[key], grads[key], 1e-12, 1e-12)
                                                for key in grads)
        yield case_verdict(ok, label, "unchanged",
                       "gradients whose norm is below max_norm must stay as they are (never scale up)", 0.75)
        yield case_verdict(abs(total - norm) <= 1e-9 * norm, f"{label} (total_norm)", "ok",
                       "total_norm should be returned even when nothing is clipped", 0.25)


# -------------------------------------------------------------- 5 lstm_gates


def _preactivations(x: np.ndarray, h: np.ndarray, params: dict[str, np.ndarray]) -> list[np.ndarray]:
    pre = x @ params["W_ih"].T + params["b_ih"] + h @ params["W_hh"].T + params["b_hh"]
    return np.split(pre, 4, axis=1)


def _gates_oracle(x: np.ndarray, h: np.ndarray, params: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The gates from torch, chunked in PyTorch's (i, f, g, o) order."""
    w_ih, w_hh, b_ih, b_hh = (float64_tensor(params[key]) for key in PARAM_KEYS)
    pre = float64_tensor(x) @ w_ih.T + b_ih + float64_tensor(h) @ w_hh.T + b_hh
    a_i, a_f, a_g, a_o = pre.chunk(4, dim=1)
    return [torch.sigmoid(a_i).numpy(), torch.sigmoid(a_f).numpy(), torch.tanh(a_g).numpy(),
            torch.sigmoid(a_o).numpy()]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return torch.sigmoid(float64_tensor(z)).numpy()


def _gate_sources(got: list[Any], x, h, params) -> list[tuple[str, int] | None]:
    """For each returned gate, the (activation, row block) it was computed from, if any."""
    blocks = _preactivations(x, h, params)
    sources: list[tuple[str, int] | None] = []
    for value in got:
        found = None
        for block, pre in enumerate(blocks):
            for name, act in (("sigmoid", _sigmoid), ("tanh", np.tanh)):
                if _close(value, act(pre), 1e-9, 1e-7):
                    found = (name, block)
        sources.append(found)
    return sources


def _gates_hint(got: list[Any], x, h, params) -> str:
    sources = _gate_sources(got, x, h, params)
    if all(source is not None for source in sources):
        blocks = [source[1] for source in sources]  # type: ignore[index]
        acts = [source[0] for source in sources]  # type: ignore[index]
        if blocks != [0, 1, 2, 3]:
            yours = ", ".join(GATE_NAMES[b] for b in blocks)
            return (f"gate order: your (i, f, g, o) are read from the row blocks PyTorch uses for ({yours}); "
                    "PyTorch stacks them as (i, f, g, o)")
        if acts != ["sigmoid", "sigmoid", "tanh", "sigmoid"]:
            return "i, f and o use a sigmoid, g uses tanh"
    no_hh = dict(params, b_hh=np.zeros_like(params["b_hh"]))
    no_ih = dict(params, b_ih=np.zeros_like(params["b_ih"]))
    for other in (no_hh, no_ih):
        if all(_close(g, e, 1e-9, 1e-7) for g, e in zip(got, _gates_oracle(x, h, other), strict=True)):
            return "add both biases, b_ih and b_hh"
    return "pre-activations x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh, split in 4 blocks of H columns"


def check_lstm_gates(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for weight in (2.0, 1.0):
        n, d, h = _sizes(rng)
        params = _params(rng, d, h, 4)
        x, h_prev = rng.normal(size=(n, d)), rng.normal(size=(n, h))
        label = f"lstm_gates with x {x.shape}, h_prev {h_prev.shape}, W_ih {params['W_ih'].shape}"
        got, error = _call(student, "lstm_gates", x, h_prev, params)
        if error:
            yield case_failed(label, error, weight)
            continue
        if not (isinstance(got, (tuple, list)) and len(got) == 4):
            yield case_failed(label, "should return the four gates (i, f, g, o) as a tuple", weight)
            continue
        expected = _gates_oracle(x, h_prev, params)
        if all(_close(g, e, 1e-10, 1e-8) for g, e in zip(got, expected, strict=True)):
            yield CaseResult(True, f"{label}: ok", weight)
            continue
        hint = _gates_hint(list(got), x, h_prev, params)
        wrong = [name for name, g, e in zip(GATE_NAMES, got, expected, strict=True)
                 if not _close(g, e, 1e-10, 1e-8)]
        yield case_failed(label, f"wrong gate(s) {', '.join(wrong)} ({hint})", weight)


# --------------------------------------------------------------- 6 lstm_step


def _lstm_step_oracle(x, h, c, params) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        cell = _module(nn.LSTMCell(x.shape[1], h.shape[1]), params)
        h_new, c_new = cell(float64_tensor(x), (float64_tensor(h), float64_tensor(c)))
    return h_new.numpy(), c_new.numpy()


def check_lstm_step(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    cases = [("random", False, 2.0), ("random, larger weights", False, 1.0), ("zero state", True, 1.0)]
    for what, zero, weight in cases:
        n, d, h = _sizes(rng)
        params = _params(rng, d, h, 4, scale=1.5 if "larger" in what else 0.6)
        x = rng.normal(size=(n, d))
        h_prev = np.zeros((n, h)) if zero else rng.normal(size=(n, h))
        c_prev = np.zeros((n, h)) if zero else rng.normal(0.0, 2.0, size=(n, h))
        label = f"lstm_step with x {x.shape}, h_prev and c_prev {h_prev.shape} ({what})"
        got, error = _call(student, "lstm_step", x, h_prev, c_prev, params)
        if error:
            yield case_failed(label, error, weight)
            continue
        try:
            h_got, c_got = _pair(got, "(h, c)")
        except ValueError as problem:
            yield case_failed(label, str(problem), weight)
            continue
        h_exp, c_exp = _lstm_step_oracle(x, h_prev, c_prev, params)
        o = _gates_oracle(x, h_prev, params)[3]
        c_hint = "c = f * c_prev + i * g"
        if _close(c_got, _lstm_step_oracle(x, h_prev, c_prev, _swap_g_o(params))[1]):
            c_hint = "gate order: PyTorch stacks the rows as (i, f, g, o), not (i, f, o, g)"
        h_hint = "h = o * tanh(c) with the new c"
        if _close(h_got, o * np.tanh(c_prev)):
            h_hint = "h uses the new cell state: h = o * tanh(c), not tanh(c_prev)"
        elif _close(h_got, o * c_exp):
            h_hint = "squash the cell state: h = o * tanh(c)"
        c_case = compare_array(f"{label} (c)", c_got, c_exp, atol=1e-10, rtol=1e-8, hint=c_hint)
        h_case = compare_array(f"{label} (h)", h_got, h_exp, atol=1e-10, rtol=1e-8, hint=h_hint)
        yield case_reweighted(c_case, weight / 2)
        yield case_reweighted(h_case, weight / 2)


def _swap_g_o(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Parameters whose g and o row blocks are exchanged: what an (i, f, o, g) reading computes."""
    out = {}
    for key, value in params.items():
        i, f, g, o = np.split(value, 4, axis=0)
        out[key] = np.concatenate([i, f, o, g], axis=0)
    return out


# ------------------------------------------------------------ 7 lstm_forward


def _lstm_layer_oracle(x, h0, c0, params) -> tuple[np.ndarray, np.ndarray]:
    """(hs from nn.LSTM, cs by stepping nn.LSTMCell with the same weights)."""
    with torch.no_grad():
        layer = _module(nn.LSTM(x.shape[2], h0.shape[1], batch_first=True), params)
        hs, _ = layer(float64_tensor(x), (float64_tensor(h0)[None], float64_tensor(c0)[None]))
        cell = _module(nn.LSTMCell(x.shape[2], h0.shape[1]), params)
        h, c, cs = float64_tensor(h0), float64_tensor(c0), []
        for t in range(x.shape[1]):
            h, c = cell(float64_tensor(x[:, t]), (h, c))
            cs.append(c)
    return hs.numpy(), torch.stack(cs, dim=1).numpy()


def check_lstm_forward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for what, steps, weight in [("random", int(rng.integers(3, 9)), 2.0),
                                ("random", int(rng.integers(3, 9)), 1.0), ("one step", 1, 0.5)]:
        n, d, h = _sizes(rng)
        params = _params(rng, d, h, 4)
        x, h0, c0 = rng.normal(size=(n, steps, d)), rng.normal(size=(n, h)), rng.normal(size=(n, h))
        label = f"lstm_forward on x {x.shape} with h0, c0 {h0.shape} ({what})"
        got, error = _call(student, "lstm_forward", x, h0, c0, params)
        if error:
            yield case_failed(label, error, weight)
            continue
        try:
            hs, cs = _pair(got, "(hs, cs)")
        except ValueError as problem:
            yield case_failed(label, str(problem), weight)
            continue
        hs_exp, cs_exp = _lstm_layer_oracle(x, h0, c0, params)
        hint = "carry both h and c from step to step, starting from (h0, c0)"
        if steps > 1 and _close(hs, np.concatenate([h0[:, None], hs_exp[:, :-1]], axis=1)):
            hint = "off by one step: hs[:, t] is the state after reading x[:, t]"
        hs_case = compare_array(f"{label} (hs)", hs, hs_exp, atol=1e-10, rtol=1e-8, hint=hint)
        yield case_reweighted(hs_case, weight * 0.6)
        yield case_reweighted(compare_array(f"{label} (cs)", cs, cs_exp, atol=1e-10, rtol=1e-8,
                                    hint="cs[:, t] is the cell state after step t"), weight * 0.4)


# --------------------------------------------------------------- 8 regressor


def _expected_params(cell: str, d: int, h: int) -> int:
    gates = 4 if cell == "lstm" else 1
    return gates * h * (d + h) + 2 * gates * h + h + 1


def check_regressor(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for cell, layer in (("lstm", "LSTM"), ("rnn", "RNN")):
        n, d, h = _sizes(rng)
        steps = int(rng.integers(4, 10))
        x = rng.normal(size=(n, steps, d)).astype(np.float32)
        label = f'SequenceRegressor({d}, {h}, cell="{cell}") on x {x.shape}'
        got, error = _run(student, "describe_regressor", d, h, cell, x, seed=int(rng.integers(0, 2**31 - 1)))
        if error:
            yield case_failed(label, error, 2.0)
            continue
        batch = np.asarray(got["batch"], dtype=np.float64)
        ok = batch.shape == (n,) and bool(np.all(np.isfinite(batch)))
        yield case_verdict(ok, label, "output shape ok",
                       f"forward should return a finite tensor of shape (N,) = ({n},)", 0.5)
        yield case_verdict(layer in got["modules"] and (cell == "rnn" or "RNN" not in got["modules"]), label,
                       f"uses nn.{layer}", f'cell="{cell}" should use one nn.{layer} layer', 0.5)
        yield case_verdict(got["n_params"] == _expected_params(cell, d, h), label, "parameter count ok",
                       f"one nn.{layer}({d}, {h}) and one nn.Linear({h}, 1) read-out: no other parameters",
                       0.5)
        single = np.asarray(got["single"], dtype=np.float64)
        ok = ok and single.shape == batch.shape and bool(np.allclose(single, batch, atol=1e-5, rtol=1e-4))
        reads_all = ok and float(got["first_step"]) > 0.0
        yield case_verdict(ok and reads_all, label, "reads each sequence on its own, from its first step",
                       "a sequence's prediction should depend on its own steps only, from the first one "
                       "to the last: batch_first=True, and read the state after the last step", 0.5)


# ------------------------------------------------------------ 9, 10 training


def _trained_cases(student: Student, model: str, X: np.ndarray, y: np.ndarray, label: str,
                   levels: list[tuple[float, str, float]], advice: str) -> Iterable[CaseResult]:
    total = 0.5 + sum(weight for _, _, weight in levels)
    got, error = _run(student, "predict_with", model, X)
    if error:
        yield case_failed(label, error, total)
        return
    pred = np.asarray(got, dtype=np.float64)
    if pred.shape != y.shape or not np.all(np.isfinite(pred)):
        count = y.shape[0]
        yield case_failed(label, f"predict({model}, X) should return {count} finite numbers, shape ({count},)",
                    total)
        return
    yield CaseResult(True, f"{label}: predictions have the right shape", 0.5)
    mse = float(np.mean((pred - y) ** 2))
    for level, what, weight in levels:
        ok = mse < level
        verdict = f"held-out MSE {mse:.3f} {'is below' if ok else 'is not below'} {what}"
        yield CaseResult(ok, f"{label}: {verdict}{'' if ok else advice}", weight)


def check_forecast(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    seed = int(rng.integers(1000, 2**31 - 1))  # the notebook uses seeds 0 and 1
    X, y = make_windows(make_sine_series(n_series=20, length=200, noise=0.1, seed=seed), 24)
    persistence = float(np.mean((X[:, -1, 0] - y) ** 2))
    label = f"forecaster on {len(y)} windows of fresh sine waves"
    levels = [(persistence, "the error of repeating the last value", 1.0),
              (FORECAST_MAX_MSE, f"the required {FORECAST_MAX_MSE}", 2.5)]
    advice = (" — check the loss (mean squared error), the read-out of the last step and that the "
              "optimiser steps every parameter")
    yield from _trained_cases(student, "forecaster", X, y.astype(np.float64), label, levels, advice)


def check_adding(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    seed = int(rng.integers(1000, 2**31 - 1))
    X, y = make_adding_problem(n=1000, length=30, seed=seed)
    label = "adder on 1000 fresh adding-problem sequences of length 30"
    better = f"{ADDING_CLEARLY_BETTER} (predicting the mean gives {ADDING_BASELINE_MSE:.3f})"
    levels = [(ADDING_CLEARLY_BETTER, better, 1.0), (ADDING_MAX_MSE, f"the required {ADDING_MAX_MSE}", 2.0)]
    advice = " — an LSTM should learn this in 600 steps: check train_regressor and the model"
    yield from _trained_cases(student, "adder", X, y.astype(np.float64), label, levels, advice)


CHECKS: list[Check] = [
    Check("rnn.rnn_step", TOPIC, "rnn_step", check_rnn_step),
    Check("rnn.rnn_forward", TOPIC, "rnn_forward", check_rnn_forward),
    Check("rnn.rnn_backward", TOPIC, "rnn_backward", check_rnn_backward),
    Check("rnn.clip", TOPIC, "clip_grad_norm", check_clip),
    Check("rnn.lstm_gates", TOPIC, "lstm_gates", check_lstm_gates),
    Check("rnn.lstm_step", TOPIC, "lstm_step", check_lstm_step),
    Check("rnn.lstm_forward", TOPIC, "lstm_forward", check_lstm_forward),
    Check("rnn.regressor", TOPIC, "SequenceRegressor", check_regressor),
    Check("rnn.forecast", TOPIC, "forecaster", check_forecast),
    Check("rnn.adding", TOPIC, "adder", check_adding),
]

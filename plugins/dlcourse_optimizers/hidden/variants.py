"""Plausible wrong optimizers, used only to name a student's mistake.

When a trajectory differs from PyTorch's, the check replays the same case
with each variant below; if the student's trajectory matches one of them,
the failure message names that mistake. Every class reads its
hyper-parameters from the param groups like a correct optimizer would, so
the only difference is the mistake it is named after.
"""

from __future__ import annotations

import torch


def _grads(optimizer: torch.optim.Optimizer, decoupled: bool = False):
    """(group, param, gradient with L2 weight decay unless decoupled) for every param with a gradient."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad
            wd = group.get("weight_decay", 0.0)
            if wd and not decoupled:
                g = g + wd * p
            yield group, p, g


class _Base(torch.optim.Optimizer):
    def __init__(self, params, **defaults):
        super().__init__(params, defaults)


# ------------------------------------------------------------------- SGD


class SGDLrInsideBuffer(_Base):
    """v = mu v - lr g; p += v (Nesterov: p += mu v - lr g): PyTorch's form only while lr is constant."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p, g in _grads(self):
            mu, lr = group["momentum"], group["lr"]
            v = self.state[p].setdefault("v", torch.zeros_like(p))
            v.mul_(mu).sub_(lr * g)
            p.add_(mu * v - lr * g if group["nesterov"] else v)


class SGDDampened(_Base):
    """v = mu v + (1 - mu) g: an exponential average instead of a sum."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p, g in _grads(self):
            mu = group["momentum"]
            v = self.state[p].setdefault("v", torch.zeros_like(p))
            v.mul_(mu).add_((1 - mu) * g)
            p.sub_(group["lr"] * (g + mu * v if group["nesterov"] else v))


class SGDIgnoresNesterov(_Base):
    """Heavy-ball momentum whatever ``nesterov`` says."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p, g in _grads(self):
            state = self.state[p]
            state["v"] = g.clone() if "v" not in state else state["v"] * group["momentum"] + g
            p.sub_(group["lr"] * state["v"])


class SGDDecoupledDecay(_Base):
    """Weight decay applied to the parameter directly instead of added to the gradient."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p, g in _grads(self, decoupled=True):
            p.mul_(1 - group["lr"] * group["weight_decay"])
            mu = group["momentum"]
            if mu:
                state = self.state[p]
                state["v"] = g.clone() if "v" not in state else state["v"] * mu + g
                g = g + mu * state["v"] if group["nesterov"] else state["v"]
            p.sub_(group["lr"] * g)


# --------------------------------------------------------------- RMSprop


class RMSpropEpsInsideSqrt(_Base):
    """p -= lr g / sqrt(s + eps)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p, g in _grads(self):
            s = self.state[p].setdefault("s", torch.zeros_like(p))
            s.mul_(group["alpha"]).add_((1 - group["alpha"]) * g * g)
            p.sub_(group["lr"] * g / torch.sqrt(s + group["eps"]))


class RMSpropSwappedAlpha(_Base):
    """s = (1 - alpha) s + alpha g^2: the weights of the average swapped."""

    @torch.no_grad()
    def step(self, closure=None):
        for group, p, g in _grads(self):
            s = self.state[p].setdefault("s", torch.zeros_like(p))
            s.mul_(1 - group["alpha"]).add_(group["alpha"] * g * g)
            p.sub_(group["lr"] * g / (s.sqrt() + group["eps"]))


# ------------------------------------------------------------------ Adam


class _AdamLike(_Base):
    """Adam with switches for the usual mistakes."""

    bias_correction = True
    eps_inside = False
    eps_before_correction = False
    decoupled = False
    shared_step = False

    @torch.no_grad()
    def step(self, closure=None):
        for group, p, g in _grads(self, decoupled=self.decoupled):
            b1, b2 = group["betas"]
            lr, eps = group["lr"], group["eps"]
            if self.decoupled:
                p.mul_(1 - lr * group["weight_decay"])
            state = self.state[p]
            if not state:
                state.update(t=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
            if self.shared_step:  # one counter for the whole optimizer, bumped once per parameter
                self._shared_t = getattr(self, "_shared_t", 0) + 1
                t = self._shared_t
            else:
                state["t"] += 1
                t = state["t"]
            state["m"].mul_(b1).add_((1 - b1) * g)
            state["v"].mul_(b2).add_((1 - b2) * g * g)
            c1, c2 = (1 - b1**t, 1 - b2**t) if self.bias_correction else (1.0, 1.0)
            if self.eps_before_correction:
                update = (lr * c2**0.5 / c1) * state["m"] / (state["v"].sqrt() + eps)
            elif self.eps_inside:
                update = lr * (state["m"] / c1) / torch.sqrt(state["v"] / c2 + eps)
            else:
                update = lr * (state["m"] / c1) / ((state["v"] / c2).sqrt() + eps)
            p.sub_(update)


class AdamNoBiasCorrection(_AdamLike):
    bias_correction = False


class AdamEpsInsideSqrt(_AdamLike):
    eps_inside = True


class AdamEpsBeforeCorrection(_AdamLike):
    eps_before_correction = True


class AdamDecoupledDecay(_AdamLike):
    decoupled = True


class AdamSharedStep(_AdamLike):
    shared_step = True


#: For each optimizer, (variant, hint) pairs tried in order when a trajectory is wrong.
HINTS: dict[str, list[tuple[type, str]]] = {
    "SGD": [
        (SGDLrInsideBuffer, ("the learning rate must stay outside the buffer: v = momentum*v + g, "
                             "then p -= lr*v (your form breaks as soon as the lr changes)")),
        (SGDDampened, "the buffer is a plain sum v = momentum*v + g, without a (1 - momentum) factor"),
        (SGDIgnoresNesterov, "with nesterov=True the step uses g + momentum*v, not v"),
        (SGDDecoupledDecay, ("weight decay is L2: add weight_decay*p to the gradient "
                             "before the momentum buffer")),
    ],
    "RMSprop": [
        (RMSpropEpsInsideSqrt, "eps goes outside the square root: g / (sqrt(s) + eps)"),
        (RMSpropSwappedAlpha, "the running average is s = alpha*s + (1 - alpha)*g**2"),
    ],
    "Adam": [
        (AdamNoBiasCorrection, ("the bias correction is missing: divide m by 1 - beta1**t "
                                "and v by 1 - beta2**t")),
        (AdamSharedStep, ("the step counter t must be counted per parameter (one increment per step), "
                          "not once for every parameter visited")),
        (AdamEpsInsideSqrt, "eps goes outside the square root: m_hat / (sqrt(v_hat) + eps)"),
        (AdamEpsBeforeCorrection, "eps is added to sqrt(v_hat), after the bias correction"),
        (AdamDecoupledDecay, ("weight decay is L2 here: add weight_decay*p to the gradient "
                              "(decoupled decay is AdamW)")),
    ],
}

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Deep Learning (PyTorch)
#     language: python
#     name: dlcourse-py3
# ---

# %% [markdown]
# # Assignment: from the perceptron to backprop by hand
#
# You will build a binary classifier from first principles, in NumPy only:
#
# 1. a numerically stable sigmoid;
# 2. binary cross-entropy on logits and its gradient;
# 3. logistic regression trained by gradient descent;
# 4. the perceptron learning rule, and why it cannot learn XOR;
# 5. a two-layer network: forward pass and backward pass by hand;
# 6. a finite-difference gradient check;
# 7. training the network on the two-moons data set.
#
# Each exercise is a function with a docstring that states the shapes and
# dtypes it works with. Replace `raise NotImplementedError()` with your code,
# then run the test cell below it. The visible tests use small fixed inputs;
# when you submit, hidden tests call your functions on fresh random inputs and
# shapes, so do not hard-code sizes. Later exercises may use your earlier
# functions.
#
# Conventions used throughout: arrays are `float64`; a batch of `N` examples
# with `D` features is an array `X` of shape `(N, D)`; losses are **means over
# the batch**.

# %% nbgrader="readonly" grade_id="setup"
import numpy as np

import dlcourse
from dlcourse_perceptron.data import load_blobs, load_moons, load_xor

dlcourse.seed_everything(0)
np.set_printoptions(precision=4, suppress=True)

X_moons, y_moons = load_moons(n_samples=200, noise=0.2, seed=0)
print("moons:", X_moons.shape, y_moons.shape, "labels", np.unique(y_moons))

# %% [markdown]
# ## 1. Sigmoid (2 points)
#
# $\sigma(z) = 1 / (1 + e^{-z})$ maps a real number (a *logit*) to a
# probability. Written literally it computes `exp(-z)`, which overflows for
# large negative `z` (try `np.exp(1000.0)`). Write a version that never calls
# `exp` on a large positive number: for `z >= 0` use the formula above, for
# `z < 0` rewrite it in terms of $e^{z}$, which is then small.

# %% nbgrader="solution" grade_id="sigmoid"
def sigmoid(z):
    """Elementwise logistic sigmoid.

    z: np.ndarray of any shape, float64.
    Returns an np.ndarray of the same shape, float64, with values in [0, 1],
    without overflow warnings for any finite z.
    """
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    small = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + small), small / (1.0 + small))
    ### END SOLUTION


# %% nbgrader="tests" grade_id="sigmoid_tests" points=2 checks=["perceptron.sigmoid"]
_z = np.array([-2.0, 0.0, 2.0])
_s = sigmoid(_z)
assert isinstance(_s, np.ndarray) and _s.shape == (3,), "sigmoid should return an array with the shape of z"
assert abs(_s[1] - 0.5) < 1e-12, "sigmoid(0) should be 0.5"
assert abs(_s[2] - 0.8807970779778823) < 1e-12, "sigmoid(2) should be about 0.8808 — did you use exp(+z) instead of exp(-z)?"
assert abs(_s[0] + _s[2] - 1.0) < 1e-12, "sigmoid(-z) should equal 1 - sigmoid(z)"
assert sigmoid(np.zeros((2, 3))).shape == (2, 3), "sigmoid should keep the shape of a 2-D input"
with np.errstate(over="raise", invalid="raise"):
    _big = sigmoid(np.array([-1000.0, 1000.0]))
assert np.all(np.isfinite(_big)), "sigmoid returned NaN or inf for |z| = 1000"
assert abs(_big[0]) < 1e-12 and abs(_big[1] - 1.0) < 1e-12, "sigmoid(-1000) should be 0 and sigmoid(1000) should be 1"
print("sigmoid: visible tests passed")

# %% [markdown]
# ## 2. Binary cross-entropy on logits (3 points)
#
# For logits $z_i$ and labels $y_i \in \{0, 1\}$ the loss is the **mean over
# the batch**
#
# $$L = \frac{1}{N} \sum_i -\big[y_i \log \sigma(z_i) + (1 - y_i) \log(1 - \sigma(z_i))\big].$$
#
# Taking `np.log(sigmoid(z))` fails when $\sigma(z)$ rounds to 0 or 1. Use
# $\log \sigma(z) = -\log(1 + e^{-z})$ and $\log(1 - \sigma(z)) = -z - \log(1 + e^{-z})$
# and simplify to a form where every `exp` has a non-positive argument
# (`np.log1p` helps). Then derive $\partial L / \partial z_i$ — it is
# remarkably simple, and remember the $1/N$.

# %% nbgrader="solution" grade_id="bce"
def bce_with_logits(z, y):
    """Mean binary cross-entropy of logits z against labels y, and its gradient.

    z: np.ndarray (N,), float64 logits.
    y: np.ndarray (N,), labels in {0, 1} (any numeric dtype).
    Returns (loss, dz): loss a Python float (mean over the N examples),
    dz an np.ndarray (N,) float64 equal to dL/dz.
    """
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    loss = np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))
    dz = (sigmoid(z) - y) / z.shape[0]
    return float(loss), dz
    ### END SOLUTION


# %% nbgrader="tests" grade_id="bce_tests" points=3 checks=["perceptron.bce"]
_loss, _dz = bce_with_logits(np.zeros(4), np.array([0, 1, 0, 1]))
assert isinstance(_loss, float), "the loss should be a Python float (use float(...))"
assert abs(_loss - np.log(2)) < 1e-12, "with all logits 0 the loss should be log(2) for any labels"
assert _dz.shape == (4,), "dz should have shape (N,)"
assert np.allclose(_dz, [0.125, -0.125, 0.125, -0.125]), "dz at z=0 should be (0.5 - y) / N — is the loss a mean over the batch?"
_loss, _dz = bce_with_logits(np.array([2.0, -1.0]), np.array([1, 1]))
assert abs(_loss - 0.7200948492805976) < 1e-10, "wrong loss for z=[2, -1], y=[1, 1]"
_loss, _dz = bce_with_logits(np.array([800.0, -800.0]), np.array([0, 1]))
assert np.isfinite(_loss) and abs(_loss - 800.0) < 1e-9, "the loss should be finite and close to 800 for confidently wrong logits ±800"
assert np.allclose(_dz, [0.5, -0.5]), "dz should be (sigmoid(z) - y) / N even for very large |z|"
print("bce_with_logits: visible tests passed")

# %% [markdown]
# ## 3. Logistic regression by gradient descent (3 points)
#
# The model is $p = \sigma(Xw + b)$. Train it by full-batch gradient descent:
# start from `w = 0`, `b = 0`; at every epoch compute the logits, the loss and
# `dz` with your `bce_with_logits`, **record the loss**, then update
# `w -= lr * dL/dw` and `b -= lr * dL/db` (chain rule: $\partial L/\partial w = X^\top dz$).

# %% nbgrader="solution" grade_id="logistic"
def train_logistic(X, y, lr=0.1, epochs=100):
    """Full-batch gradient descent on mean binary cross-entropy, from zero weights.

    X: np.ndarray (N, D) float64; y: np.ndarray (N,) labels in {0, 1}.
    lr: float step size; epochs: int number of updates.
    Returns (w, b, losses): w np.ndarray (D,), b float, losses np.ndarray (epochs,)
    where losses[t] is the loss *before* update t.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    w = np.zeros(X.shape[1])
    b = 0.0
    losses = np.empty(epochs)
    for epoch in range(epochs):
        loss, dz = bce_with_logits(X @ w + b, y)
        losses[epoch] = loss
        w = w - lr * (X.T @ dz)
        b = b - lr * float(np.sum(dz))
    return w, b, losses
    ### END SOLUTION


# %% nbgrader="tests" grade_id="logistic_tests" points=3 checks=["perceptron.logistic"]
_X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
_y = np.array([1, 0, 1, 0])
_w, _b, _losses = train_logistic(_X, _y, lr=0.5, epochs=3)
assert np.shape(_w) == (2,) and np.ndim(_b) == 0, "return w with shape (D,) and b as a scalar"
assert len(_losses) == 3, "losses should hold one value per epoch"
assert abs(_losses[0] - np.log(2)) < 1e-12, "the first recorded loss is at w = 0, b = 0, so it should be log(2)"
assert np.allclose(_w, [-0.01070666, 0.35273494], atol=1e-7), "wrong w after 3 epochs — one update per epoch, gradient X.T @ dz"
assert abs(_b - (-0.02165551)) < 1e-7, "wrong b after 3 epochs — db is the sum of dz"
_, _, _long = train_logistic(X_moons, y_moons, lr=1.0, epochs=100)
assert np.all(np.diff(_long) <= 1e-12), "the loss should never increase on moons with lr = 1"
print("train_logistic: visible tests passed; final moons loss", round(float(_long[-1]), 4))

# %% [markdown]
# ## 4. The perceptron learning rule (3 points)
#
# Rosenblatt's perceptron predicts $\operatorname{sign}(w \cdot x + b)$ with
# labels $y \in \{-1, +1\}$. The rule, with the conventions the tests use:
#
# * start from `w = 0`, `b = 0`;
# * visit the points **in order**; point $i$ is a *mistake* when
#   $y_i (w \cdot x_i + b) \le 0$ (so a point on the boundary counts);
# * on a mistake update $w \leftarrow w + y_i x_i$, $b \leftarrow b + y_i$ and count it;
# * stop after a full pass with no mistake, or after `epochs` passes.
#
# Novikoff's theorem: if some unit vector $(w^*, b^*)$ separates the data with
# margin $\gamma$ and every $(x_i, 1)$ has norm at most $R$, the rule makes at
# most $(R/\gamma)^2$ mistakes in total, whatever the order of the points.

# %% nbgrader="solution" grade_id="perceptron_rule"
def perceptron_train(X, y, epochs=100):
    """Train a perceptron with the rule above.

    X: np.ndarray (N, D) float64; y: np.ndarray (N,) labels in {-1, +1}.
    epochs: int, the maximum number of passes over the data.
    Returns (w, b, mistakes): w np.ndarray (D,) float64, b float,
    mistakes the total number of updates made (int).
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.zeros(X.shape[1])
    b = 0.0
    mistakes = 0
    for _ in range(epochs):
        clean = True
        for x_i, y_i in zip(X, y):
            if y_i * (x_i @ w + b) <= 0:
                w = w + y_i * x_i
                b = b + y_i
                mistakes += 1
                clean = False
        if clean:
            break
    return w, float(b), mistakes
    ### END SOLUTION


# %% nbgrader="tests" grade_id="perceptron_rule_tests" points=3 checks=["perceptron.perceptron_rule"]
_X = np.array([[2.0, 1.0], [-1.0, -1.0], [1.0, 2.0], [-2.0, -1.0]])
_y = np.array([1, -1, 1, -1])
_w, _b, _m = perceptron_train(_X, _y, epochs=10)
assert np.allclose(_w, [2.0, 1.0]) and _b == 1.0 and _m == 1, (
    "on this data only the first point is a mistake (w starts at 0, so y*(w.x+b) = 0 <= 0): "
    "expected w=[2, 1], b=1 and 1 mistake"
)
_Xb, _yb = load_blobs(n_samples=60, margin=0.5, seed=1, signed=True)
_w, _b, _m = perceptron_train(_Xb, _yb, epochs=100)
assert np.all(_yb * (_Xb @ _w + _b) > 0), "on separable blobs the returned (w, b) should classify every training point correctly"
_Xx, _yx = load_xor(signed=True)
_, _, _m = perceptron_train(_Xx, _yx, epochs=5)
assert _m >= 5, "no line separates XOR, so every pass must contain a mistake: did you stop too early?"
print("perceptron_train: visible tests passed")

# %% [markdown]
# ### Why XOR defeats the perceptron
#
# Suppose $w_1 x_1 + w_2 x_2 + b$ were positive exactly on the XOR-positive
# points (0, 1) and (1, 0). At (0, 0) it must be $\le 0$, so $b \le 0$; at
# (0, 1) and (1, 0) it is $> 0$, so $w_2 > -b \ge 0$ and $w_1 > -b \ge 0$.
# Adding the two positive inequalities gives $w_1 + w_2 + 2b > 0$, hence
# $w_1 + w_2 + b > -b \ge 0$: the point (1, 1) would be classified positive,
# a contradiction. No line works, so Novikoff's bound does not apply and the
# rule cycles forever: every pass makes at least one mistake. The fix is to
# change the *representation*: a hidden layer can compute features (such as
# "x1 OR x2" and "x1 AND x2") in which XOR *is* linearly separable. Try it:

# %%
_Xx, _yx = load_xor(signed=True)
try:
    _w, _b, _m = perceptron_train(_Xx, _yx, epochs=50)
    print("XOR: mistakes after 50 passes:", _m, "| predictions", np.sign(_Xx @ _w + _b), "labels", _yx)
except NotImplementedError:
    print("Write perceptron_train above to run this experiment.")

# %% [markdown]
# ## 5. A two-layer network, forward and backward (2 + 3 points)
#
# The network has `H` hidden units with a `tanh` activation and one sigmoid output:
#
# $$h = \tanh(X W_1 + b_1), \qquad z = h W_2 + b_2, \qquad p = \sigma(z).$$
#
# Parameters live in a dict: `W1` (D, H), `b1` (H,), `W2` (H, 1), `b2` (1,).
# `mlp_forward` returns the probabilities `p` with shape (N,) and a `cache`
# (anything you like, e.g. a dict of intermediate arrays) that `mlp_backward`
# needs. `mlp_backward` returns the gradient of the **mean** binary
# cross-entropy $L$ with respect to every parameter, as a dict with the same
# keys and shapes as `params`. Useful facts: $\partial L / \partial z = (p - y)/N$
# (exercise 2) and $\tanh'(a) = 1 - \tanh(a)^2$.

# %% nbgrader="solution" grade_id="mlp_forward"
def mlp_forward(params, X):
    """Forward pass of the tanh-sigmoid MLP.

    params: dict with W1 (D, H), b1 (H,), W2 (H, 1), b2 (1,), all float64.
    X: np.ndarray (N, D) float64.
    Returns (p, cache): p np.ndarray (N,) of probabilities; cache for mlp_backward.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    h = np.tanh(X @ params["W1"] + params["b1"])
    z = (h @ params["W2"] + params["b2"]).reshape(-1)
    p = sigmoid(z)
    return p, {"X": X, "h": h, "z": z, "p": p}
    ### END SOLUTION


# %% nbgrader="tests" grade_id="mlp_forward_tests" points=2 checks=["perceptron.mlp_forward"]
_params = {
    "W1": np.array([[1.0, -1.0, 0.5], [0.5, 2.0, -1.0]]),
    "b1": np.array([0.0, 0.1, -0.2]),
    "W2": np.array([[1.0], [-2.0], [0.5]]),
    "b2": np.array([0.3]),
}
_X = np.array([[0.0, 0.0], [1.0, -1.0], [0.5, 2.0], [-1.0, 0.5]])
_p, _cache = mlp_forward(_params, _X)
assert np.shape(_p) == (4,), "p should have shape (N,), not (N, 1) — flatten the output"
assert abs(_p[0] - 0.5004940875) < 1e-9, "with X = 0 the output depends only on b1, W2, b2 — are both biases added?"
assert np.allclose(_p, [0.50049409, 0.96010934, 0.21891041, 0.06339479], atol=1e-7), (
    "wrong probabilities — tanh on the hidden layer, sigmoid on the output"
)
print("mlp_forward: visible tests passed")

# %% nbgrader="solution" grade_id="mlp_backward"
def mlp_backward(params, cache, y):
    """Gradients of the mean binary cross-entropy of the MLP, by the chain rule.

    params: the dict given to mlp_forward; cache: what mlp_forward returned;
    y: np.ndarray (N,) labels in {0, 1}.
    Returns a dict with keys W1, b1, W2, b2 and the shapes of params (float64).
    """
    ### BEGIN SOLUTION
    X, h, p = cache["X"], cache["h"], cache["p"]
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    dz = ((p - y) / X.shape[0]).reshape(-1, 1)  # (N, 1)
    dW2 = h.T @ dz
    db2 = dz.sum(axis=0)
    da = (dz @ params["W2"].T) * (1.0 - h**2)  # (N, H)
    dW1 = X.T @ da
    db1 = da.sum(axis=0)
    return {
        "W1": dW1,
        "b1": db1,
        "W2": dW2.reshape(np.shape(params["W2"])),
        "b2": db2.reshape(np.shape(params["b2"])),
    }
    ### END SOLUTION


# %% nbgrader="tests" grade_id="mlp_backward_tests" points=3 checks=["perceptron.mlp_backward"]
_params = {
    "W1": np.array([[1.0, -1.0, 0.5], [0.5, 2.0, -1.0]]),
    "b1": np.array([0.0, 0.1, -0.2]),
    "W2": np.array([[1.0], [-2.0], [0.5]]),
    "b2": np.array([0.3]),
}
_X = np.array([[0.0, 0.0], [1.0, -1.0], [0.5, 2.0], [-1.0, 0.5]])
_y = np.array([1, 0, 0, 1])
_p, _cache = mlp_forward(_params, _X)
_grads = mlp_backward(_params, _cache, _y)
assert isinstance(_grads, dict) and set(_grads) == {"W1", "b1", "W2", "b2"}, "return a dict with keys W1, b1, W2, b2"
for _key in _params:
    assert np.shape(_grads[_key]) == np.shape(_params[_key]), f"grads[{_key!r}] should have the shape of params[{_key!r}]"
assert abs(float(np.ravel(_grads["b2"])[0]) - np.mean(_p - _y)) < 1e-12, "db2 should be the mean of (p - y) over the batch"
assert np.allclose(_grads["W2"].ravel(), [0.3091783, -0.42361116, 0.37412998], atol=1e-7), "wrong dW2 — it is h.T @ dz"
assert np.allclose(_grads["b1"], [-0.06590923, 0.26843308, -0.0626922], atol=1e-7), "wrong db1 — check the tanh derivative 1 - h**2"
assert np.allclose(_grads["W1"][0], [0.33340512, -0.03320772, 0.06767019], atol=1e-7), "wrong dW1 — it is X.T @ (gradient at the hidden pre-activation)"
print("mlp_backward: visible tests passed")

# %% [markdown]
# ## 6. Gradient checking (2 points)
#
# A hand-written backward pass is easy to get subtly wrong. Check it against
# **centred finite differences**: for each entry $x_j$,
#
# $$\frac{\partial f}{\partial x_j} \approx \frac{f(x + h e_j) - f(x - h e_j)}{2h},$$
#
# whose error shrinks like $h^2$ (the one-sided version only like $h$). Change
# one entry of `x` at a time, in place or on a copy, but leave `x` as you
# found it. `x` may have any shape.

# %% nbgrader="solution" grade_id="numerical_gradient"
def numerical_gradient(f, x, h=1e-5):
    """Centred finite-difference gradient of a scalar function.

    f: a Python function taking an np.ndarray shaped like x and returning a float.
    x: np.ndarray of any shape, float64 (left unchanged on return).
    h: float step.
    Returns an np.ndarray with the shape of x: the estimate of df/dx.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        f_plus = f(x)
        x[index] = old - h
        f_minus = f(x)
        x[index] = old
        grad[index] = (f_plus - f_minus) / (2.0 * h)
    return grad
    ### END SOLUTION


# %% nbgrader="tests" grade_id="numerical_gradient_tests" points=2 checks=["perceptron.numerical_gradient"]
_x = np.array([[1.0, -2.0], [0.5, 3.0]])
_x_before = _x.copy()
_g = numerical_gradient(lambda v: float(np.sum(v**3)), _x)
assert np.shape(_g) == (2, 2), "the gradient should have the shape of x"
assert np.array_equal(_x, _x_before), "numerical_gradient must leave x unchanged"
assert np.allclose(_g, 3 * _x**2, rtol=1e-8, atol=1e-8), "wrong gradient of sum(x**3) — use the centred difference (f(x+h) - f(x-h)) / (2h)"
_g = numerical_gradient(lambda v: float(np.sum(v**3)), np.array([2.0]), h=0.1)
assert abs(_g[0] - 12.01) < 1e-9, "with h=0.1 the centred estimate for x**3 at 2 is 3*4 + h**2 = 12.01: is h used?"
print("numerical_gradient: visible tests passed")

# %% [markdown]
# Now use it to check your backward pass on a random network. A relative error
# below about 1e-7 means the two agree.

# %%
_rng = np.random.default_rng(0)
_P = {"W1": _rng.normal(size=(3, 5)), "b1": _rng.normal(size=5), "W2": _rng.normal(size=(5, 1)), "b2": _rng.normal(size=1)}
_Xc = _rng.normal(size=(7, 3))
_yc = _rng.integers(0, 2, size=7)
try:
    _analytic = mlp_backward(_P, mlp_forward(_P, _Xc)[1], _yc)
    for _key in _P:
        def _loss_of(value, key=_key):
            p = np.clip(mlp_forward(dict(_P, **{key: value}), _Xc)[0], 1e-300, 1 - 1e-16)
            return float(-np.mean(_yc * np.log(p) + (1 - _yc) * np.log(1 - p)))
        _numeric = numerical_gradient(_loss_of, _P[_key].copy())
        _err = np.max(np.abs(_numeric - _analytic[_key]) / np.maximum(1e-8, np.abs(_numeric) + np.abs(_analytic[_key])))
        print(f"{_key}: relative error {_err:.1e}")
except NotImplementedError:
    print("Finish exercises 2, 5 and 6 to run this gradient check.")

# %% [markdown]
# ## 7. Train the network on two moons (2 points)
#
# Put it together: `train_mlp` initialises the parameters with
# `rng = np.random.default_rng(seed)` (for example `W1` from a normal
# distribution scaled by $1/\sqrt{D}$, `W2` scaled by $1/\sqrt{H}$, zero
# biases), then runs `epochs` steps of full-batch gradient descent with your
# `mlp_forward` and `mlp_backward`. `mlp_predict` turns probabilities into
# labels with a threshold of 0.5.
#
# The hidden test trains your network on a fresh moons sample with
# `hidden=16, lr=1.0, epochs=1500` and measures the accuracy of the returned
# parameters on points your network never saw: aim for at least 95%.

# %% nbgrader="solution" grade_id="train_mlp"
def train_mlp(X, y, hidden=16, lr=1.0, epochs=1500, seed=0):
    """Train the tanh-sigmoid MLP by full-batch gradient descent.

    X: np.ndarray (N, D) float64; y: np.ndarray (N,) labels in {0, 1}.
    hidden: int H; lr: float; epochs: int; seed: int for the initialisation.
    Returns params: dict with W1 (D, H), b1 (H,), W2 (H, 1), b2 (1,), float64.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    rng = np.random.default_rng(seed)
    D = X.shape[1]
    params = {
        "W1": rng.normal(size=(D, hidden)) / np.sqrt(D),
        "b1": np.zeros(hidden),
        "W2": rng.normal(size=(hidden, 1)) / np.sqrt(hidden),
        "b2": np.zeros(1),
    }
    for _ in range(epochs):
        _, cache = mlp_forward(params, X)
        grads = mlp_backward(params, cache, y)
        params = {key: value - lr * grads[key] for key, value in params.items()}
    return params
    ### END SOLUTION


def mlp_predict(params, X):
    """Predicted labels of the MLP.

    params: as returned by train_mlp; X: np.ndarray (N, D) float64.
    Returns np.ndarray (N,) of int labels in {0, 1} (1 where p >= 0.5).
    """
    ### BEGIN SOLUTION
    return (mlp_forward(params, X)[0] >= 0.5).astype(np.int64)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="train_mlp_tests" points=2 checks=["perceptron.train_mlp"]
_params = train_mlp(X_moons, y_moons, hidden=16, lr=1.0, epochs=1500, seed=0)
assert set(_params) == {"W1", "b1", "W2", "b2"}, "train_mlp should return a dict with keys W1, b1, W2, b2"
assert np.shape(_params["W1"]) == (2, 16), "W1 should have shape (D, hidden)"
_pred = mlp_predict(_params, X_moons)
assert np.shape(_pred) == (200,) and set(np.unique(_pred)) <= {0, 1}, "mlp_predict should return labels 0/1 with shape (N,)"
_acc = float(np.mean(_pred == y_moons))
assert _acc >= 0.95, f"training accuracy {_acc:.1%} on moons is too low — check the update direction and the learning rate"
_w_lin, _b_lin, _ = train_logistic(X_moons, y_moons, lr=1.0, epochs=300)
_acc_lin = float(np.mean(((X_moons @ _w_lin + _b_lin) > 0) == y_moons))
print(f"train_mlp: visible tests passed (MLP {_acc:.1%} vs logistic regression {_acc_lin:.1%} on the training set)")

# %% [markdown]
# ## Explore
#
# The widget below trains *your* network (it calls your `train_mlp` and
# `mlp_predict`) and draws the decision boundary and the training loss. Move
# the sliders: how many hidden units does the boundary need to bend around
# the moons? What happens with a learning rate of 10? It is not graded.

# %% nbgrader="readonly" grade_id="explore" skip_grading=true
from dlcourse_perceptron.widgets import decision_boundary_explorer


def moons_loss(params, X, y):
    p = np.clip(mlp_forward(params, X)[0], 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


try:
    explorer = decision_boundary_explorer(train_mlp, mlp_predict, X_moons, y_moons, loss_fn=moons_loss, epochs=300)
except Exception as error:  # noqa: BLE001 - the widget is optional
    explorer = None
    print("The explorer could not start:", type(error).__name__, error)
explorer

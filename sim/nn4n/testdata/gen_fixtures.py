#!/usr/bin/env python3
"""Regenerates sim/nn4n/testdata/fixtures: small nn4n-style CTRNNs and what a
PyTorch loop returns for them, for the import cross-check (issue 3).

The loop is written from sim/NN4N.md (nn4n v1.2.0's CTRNN, float32, noise
off), not taken from nn4n. Per case it saves: model.npz (the state dict under
nn4n's key names, as np.savez(path, **state_dict) writes it), model.pt for some
(nn4n's own checkpoint, torch.save({"model_state_dict", "kwargs"})), x.npy
(B, T, I), v0.npy (B, N) when the case has an initial state, and
expected.npz (rates (B, T, N), outputs (B, T, O)). cases.json lists the cases.

    /usr/bin/python3 sim/nn4n/testdata/gen_fixtures.py   # Debian's python3-torch
"""
import json, os
import numpy as np, torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
I, N, O, B, T = 3, 32, 2, 3, 300
ACT = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
       "retanh": lambda x: torch.clamp(torch.tanh(x), min=0)}

def ctrnn(sd, act, alpha, x, v0):
    """v_t = (1-α)v + α(W_hid r + b_hid + W_in u + b_in); r = f(v); y = W_out r + b_out."""
    g = lambda k, n: sd.get(k, torch.zeros(n))
    w_in, w_hid, w_out = sd["recurrent_layer.input_layer.weight"], sd["recurrent_layer.hidden_layer.weight"], sd["readout_layer.weight"]
    b_in, b_hid, b_out = g("recurrent_layer.input_layer.bias", N), g("recurrent_layer.hidden_layer.bias", N), g("readout_layer.bias", O)
    v = v0.clone(); r = ACT[act](v); rates = []
    for t in range(x.shape[1]):
        v = (1 - alpha) * v + alpha * (r @ w_hid.T + b_hid + x[:, t] @ w_in.T + b_in)
        r = ACT[act](v); rates.append(r)
    rates = torch.stack(rates, 1)
    return rates, rates @ w_out.T + b_out

def multi_area_ei(rng):
    """Two areas of N/2; the first 80% of each excitatory; dense-ish within an area,
    sparser forward (0→1) and feedback (1→0), only excitatory units project across;
    input to area 0, readout from area 1's excitatory units. Masks are (pre, post)."""
    area = np.arange(N) // (N // 2); exc = (np.arange(N) % (N // 2)) < int(0.8 * N // 2)
    p = np.array([[0.8, 0.4], [0.2, 0.8]])[area[:, None], area[None, :]]  # [pre area, post area]
    hid = (rng.random((N, N)) < p) & ((area[:, None] == area[None, :]) | exc[:, None])
    inp = np.repeat((area == 0)[None, :], I, 0)
    out = np.repeat(((area == 1) & exc)[:, None], O, 1)
    ei = np.where(exc, 1.0, -1.0)
    return [inp, hid, out], [None, np.repeat(ei[:, None], N, 1), np.repeat(ei[:, None], O, 1)]

def apply_masks(w, s, ei, balance):
    """As nn4n builds a layer: W ⊙ Sᵀ, clamp by the E/I sign of the presynaptic unit, balance."""
    w = w * torch.tensor(s.T, dtype=w.dtype)
    if ei is not None:
        e = torch.tensor(ei.T) > 0
        w = torch.where(e, w.clamp(min=0), w.clamp(max=0))
        if balance:
            es, is_ = w[e].sum(), -w[~e].sum()
            if es == 0 or is_ == 0: w = w / 10
            elif es > is_: w = torch.where(e, w * (is_ / es), w)
            else: w = torch.where(e, w, w * (es / is_))
    return w

def case(name, act, dt, tau, masked, init, seed, pt=None, alpha_key=False, biases=True):
    rng = np.random.default_rng(seed); gen = torch.Generator().manual_seed(seed)
    f32 = lambda *s, scale=1.0: torch.randn(*s, generator=gen) * scale
    gain = 4.0 if masked else 1.0  # clamping zeroes about half of a masked layer's weights
    w = [f32(N, I, scale=1 / I ** .5), f32(N, N, scale=gain / N ** .5), f32(O, N, scale=1 / N ** .5)]
    sp = ei = None
    if masked:
        sp, ei = multi_area_ei(rng)
        w = [apply_masks(w[k], sp[k], ei[k], balance=(k == 1)) for k in range(3)]
    keys = ["recurrent_layer.input_layer", "recurrent_layer.hidden_layer", "readout_layer"]
    sd = {keys[k] + ".weight": w[k].contiguous() for k in range(3)}
    if biases:
        sd.update({keys[k] + ".bias": f32(n, scale=0.1) for k, n in enumerate([N, N, O])})
    taus = torch.tensor(rng.uniform(0.5, 2.0, N) * tau, dtype=torch.float32) if alpha_key else None
    if alpha_key:
        sd["recurrent_layer.alpha"] = dt / taus
    alpha = sd["recurrent_layer.alpha"] if alpha_key else torch.tensor(dt / tau, dtype=torch.float32)
    x = f32(B, T, I)
    v0 = f32(B, N, scale=0.5) if init else torch.zeros(B, N)
    with torch.no_grad():
        rates, outputs = ctrnn(sd, act, alpha, x, v0)
    d = os.path.join(OUT, name); os.makedirs(d, exist_ok=True)
    np.savez(os.path.join(d, "model.npz"), **{k: v.numpy() for k, v in sd.items()})
    np.save(os.path.join(d, "x.npy"), x.numpy())
    if init: np.save(os.path.join(d, "v0.npy"), v0.numpy())
    np.savez_compressed(os.path.join(d, "expected.npz"), rates=rates.numpy(), outputs=outputs.numpy())
    if pt is not None:
        kw = {"dims": [I, N, O], "activation": act, "dt": dt, "tau": tau}
        if masked and pt == "numpy":  # as nn4n's mask builders hand them over
            kw.update(sparsity_masks=[m.astype(bool) for m in sp], ei_masks=ei)
        elif masked:
            kw.update(sparsity_masks=[torch.tensor(m, dtype=torch.float32) for m in sp],
                      ei_masks=[None if m is None else torch.tensor(m, dtype=torch.float32) for m in ei])
        torch.save({"model_state_dict": sd, "kwargs": kw}, os.path.join(d, "model.pt"))
    return {"name": name, "activation": act, "dt": dt, "tau": tau, "masked": masked, "init_state": init,
            "alpha_in_state_dict": alpha_key, "biases": biases, "checkpoint": pt is not None}

cases = [
    case("relu", "relu", 10, 100, False, False, 1, pt="torch"),  # nn4n's defaults: the NPZ imports without flags
    case("relu_ei_init", "relu", 10, 50, True, True, 2, biases=False),
    case("tanh_init", "tanh", 5, 50, False, True, 3),
    case("tanh_ei", "tanh", 10, 100, True, False, 4, alpha_key=True),
    case("sigmoid", "sigmoid", 1, 20, False, False, 5),
    case("sigmoid_ei_init", "sigmoid", 10, 100, True, True, 6, pt="torch"),
    case("retanh_init", "retanh", 10, 30, False, True, 7),
    case("retanh_ei", "retanh", 2, 40, True, False, 8, pt="numpy"),
]
with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump({"generator": "gen_fixtures.py", "torch": torch.__version__, "cases": cases}, f, indent=1)

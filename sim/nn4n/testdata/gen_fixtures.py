#!/usr/bin/env python3
"""Regenerates sim/nn4n/testdata/fixtures: small nn4n-style CTRNNs and what a
PyTorch loop returns for them, for the import cross-check (issue 3).

The loop is written from sim/NN4N.md (nn4n v1.2.0's CTRNN, float32, noise
off), not taken from nn4n. Per case it saves: model.npz (the state dict under
nn4n's key names, as np.savez(path, **state_dict) writes it), model.pt for some
(nn4n's own checkpoint, torch.save({"model_state_dict", "kwargs"})), x.npy
(B, T, I), v0.npy (B, N) when the case has an initial state, and
expected.npz (rates (B, T, N), outputs (B, T, O)). cases.json lists the cases.

torch.save keeps a tensor as a view: its whole storage plus the view's offset
and strides (issue 10). Two kinds of checkpoint exercise that:
  - pt="nn4n": a MultiAreaEI model saved as nn4n saves one — the state dict of
    an nn.Module, and the kwargs as CTRNN leaves them: the masks handed over
    as m.T (as nn4n's get_masks() returns them), turned into int64 tensors in
    place by CTRNN._check_masks, which keep the transposed strides;
  - pt="views": every kind of view in both the state dict and the kwargs —
    transposed, sliced (non-zero storage offset, steps), broadcast (stride
    0) and several tensors sharing one storage.
For both, masks.npz holds the masks' logical (pre, post) values. views/ holds
views.pt, a dict of assorted views and numpy arrays (dtypes, Fortran order,
byte order), and views.npz, their logical values as float64.

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

def nn4n_check_masks(masks, kind):
    """What nn4n's CTRNN._check_masks does to the list it was given, in place —
    and BaseNN keeps only a shallow copy of the kwargs, so the checkpoint saves
    the result: torch.from_numpy (a view, strides kept), then torch.where,
    whose output keeps its input's memory layout."""
    for i, m in enumerate(masks):
        if m is None: continue
        t = torch.from_numpy(m) if isinstance(m, np.ndarray) else m
        masks[i] = (torch.where(t > 0, torch.tensor(1), torch.tensor(-1)) if kind == "ei"
                    else torch.where(t == 0, torch.tensor(0), torch.tensor(1)))
    return masks

def nn4n_kwargs(sp, ei):
    """The masks as a MultiAreaEI user passes them: nn4n's mask classes keep
    them (post, pre) and get_masks() returns m.T, a (pre, post) view."""
    held = lambda ms: [None if m is None else np.ascontiguousarray(m.T).astype(np.int64) for m in ms]
    kw = {"sparsity_masks": nn4n_check_masks([m.T for m in held(sp)], "sparsity"),
          "ei_masks": nn4n_check_masks([None if m is None else m.T for m in held(ei)], "ei")}
    s0 = kw["sparsity_masks"][0]
    assert s0.dtype == torch.int64 and s0.stride() == (1, I) and not s0.is_contiguous(), s0.stride()
    return kw

class _Layer(torch.nn.Module):
    def __init__(self, w, b):
        super().__init__(); self.weight = torch.nn.Parameter(w)
        if b is not None: self.bias = torch.nn.Parameter(b)

def nn4n_state_dict(sd):
    """The state dict as an nn.Module returns it (an OrderedDict with _metadata)."""
    g = lambda k: (sd[k + ".weight"], sd.get(k + ".bias"))
    net = torch.nn.Module(); net.recurrent_layer = torch.nn.Module()
    net.recurrent_layer.input_layer = _Layer(*g("recurrent_layer.input_layer"))
    net.recurrent_layer.hidden_layer = _Layer(*g("recurrent_layer.hidden_layer"))
    net.readout_layer = _Layer(*g("readout_layer"))
    return net.state_dict()

def views_state_dict(sd, alpha):
    """The same numbers as views of other storages."""
    w_in, w_hid, w_out = (sd[k] for k in ["recurrent_layer.input_layer.weight", "recurrent_layer.hidden_layer.weight", "readout_layer.weight"])
    b_in, b_hid, b_out = (sd[k] for k in ["recurrent_layer.input_layer.bias", "recurrent_layer.hidden_layer.bias", "readout_layer.bias"])
    big = torch.zeros(N + 2, 2 * I + 3); big[1:N + 1, 3::2] = w_in   # every other column, from row 1: offset, steps
    flat = torch.zeros(N + O * N + N + 3 * O)                          # readout weight and the biases share one storage
    flat[:N] = b_in; flat[N:N + O * N] = w_out.flatten(); flat[N + O * N:2 * N + O * N] = b_hid; flat[2 * N + O * N::3] = b_out
    v = {"recurrent_layer.input_layer.weight": big[1:N + 1, 3::2],
         "recurrent_layer.hidden_layer.weight": w_hid.T.contiguous().T,  # transposed
         "readout_layer.weight": flat[N:N + O * N].view(O, N),
         "recurrent_layer.input_layer.bias": flat[:N],
         "recurrent_layer.hidden_layer.bias": flat[N + O * N:2 * N + O * N],
         "readout_layer.bias": flat[2 * N + O * N::3],
         "recurrent_layer.alpha": torch.tensor([alpha], dtype=torch.float32).expand(N)}  # stride 0
    for k, t in v.items():
        assert torch.equal(t, sd[k]) if k in sd else True, k
    assert not v["recurrent_layer.hidden_layer.weight"].is_contiguous() and v["recurrent_layer.input_layer.weight"].storage_offset() > 0
    return v

def views_kwargs(sp, ei):
    """The masks as views: transposed, sliced with an offset, stepped, and the
    readout E/I mask a slice of the hidden one's storage (row j of a (pre, post)
    E/I mask is presynaptic unit j's sign, so any O of its columns will do)."""
    s_in = torch.tensor(np.ascontiguousarray(sp[0].T), dtype=torch.int64).T
    big = torch.zeros(N + 1, N + 2, dtype=torch.int64); big[1:, 2:] = torch.tensor(sp[1], dtype=torch.int64)
    wide = torch.zeros(N, 2 * O, dtype=torch.bool); wide[:, ::2] = torch.tensor(sp[2], dtype=torch.bool)
    e_hid = torch.tensor(np.ascontiguousarray(ei[1].T), dtype=torch.float32).T
    kw = {"sparsity_masks": [s_in, big[1:, 2:], wide[:, ::2]], "ei_masks": [None, e_hid, e_hid[:, 5:5 + O]]}
    assert kw["ei_masks"][2].storage_offset() == 5 * N and kw["ei_masks"][2].stride() == (1, N)
    return kw

def logical(kw):
    """Every mask's (pre, post) values, for the decoder's check."""
    return {f"{k}.{j}": np.asarray(m, dtype=np.float64) for k in ["sparsity_masks", "ei_masks"] for j, m in enumerate(kw.get(k) or []) if m is not None}

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
    if pt == "views":
        sd = views_state_dict(sd, dt / tau)
    alpha = sd["recurrent_layer.alpha"] if "recurrent_layer.alpha" in sd else torch.tensor(dt / tau, dtype=torch.float32)
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
        elif masked and pt == "nn4n":
            kw.update(weights="normal", **nn4n_kwargs(sp, ei))
            sd = nn4n_state_dict(sd)
        elif masked and pt == "views":
            kw.update(views_kwargs(sp, ei))
        elif masked:
            kw.update(sparsity_masks=[torch.tensor(m, dtype=torch.float32) for m in sp],
                      ei_masks=[None if m is None else torch.tensor(m, dtype=torch.float32) for m in ei])
        torch.save({"model_state_dict": sd, "kwargs": kw}, os.path.join(d, "model.pt"))
        if pt in ("nn4n", "views"):
            np.savez(os.path.join(d, "masks.npz"), **logical(kw))
    return {"name": name, "activation": act, "dt": dt, "tau": tau, "masked": masked, "init_state": init,
            "alpha_in_state_dict": "recurrent_layer.alpha" in sd, "biases": biases, "checkpoint": pt is not None,
            "checkpoint_kind": pt or ""}

def views_fixture():
    """views/views.pt: one of each kind of view torch.save and numpy write."""
    a = torch.arange(60, dtype=torch.float64)
    shared = torch.arange(20, dtype=torch.float32)
    t = {"transposed": torch.arange(12.).reshape(3, 4).T,
         "sliced": torch.arange(60.).reshape(6, 10)[1:5:2, 2:9:3],
         "permuted3d": torch.arange(24.).reshape(2, 3, 4).permute(2, 0, 1),
         "broadcast": torch.tensor([1.5, -2.0]).reshape(2, 1).expand(2, 3),
         "scalar_view": a[7],
         "empty": torch.zeros(4, 0),
         "shared_a": shared[2:12].view(2, 5), "shared_b": shared[::4], "shared_c": shared.view(4, 5).T[1:3],
         "f64_T": a.view(6, 10).T[::3],
         "f16_sliced": torch.arange(10., dtype=torch.float16)[1::2],
         "bf16_T": torch.arange(6., dtype=torch.bfloat16).view(2, 3).T,
         "int64_T": torch.arange(-6, 6).view(3, 4).T, "int32_step": torch.arange(10, dtype=torch.int32)[::3],
         "int16": torch.arange(-3, 3, dtype=torch.int16).view(2, 3).T, "int8": torch.arange(-4, 4, dtype=torch.int8)[1:],
         "uint8_T": torch.arange(6, dtype=torch.uint8).view(3, 2).T, "bool_T": (torch.arange(6).view(2, 3) % 2 == 0).T,
         "parameter_T": torch.nn.Parameter(torch.arange(6.).view(2, 3).T)}
    n = {"np_fortran_f8": np.arange(6.).reshape(2, 3).T, "np_fortran_bool": (np.arange(12).reshape(3, 4) % 3 == 0).T,
         "np_big_f4": np.arange(5, dtype=">f4") - 2, "np_big_fortran_i8": np.arange(6, dtype=">i8").reshape(3, 2).T,
         "np_strided": np.arange(20.)[::3], "np_fortran_3d": np.asfortranarray(np.arange(24.).reshape(2, 3, 4))}
    assert n["np_fortran_f8"].flags.f_contiguous and not n["np_fortran_f8"].flags.c_contiguous
    d = os.path.join(OUT, "..", "views"); os.makedirs(d, exist_ok=True)
    torch.save({**t, **n}, os.path.join(d, "views.pt"))
    val = lambda x: x.detach().to(torch.float64).numpy() if isinstance(x, torch.Tensor) else x.astype(np.float64)
    np.savez(os.path.join(d, "views.npz"), **{k: val(v) for k, v in {**t, **n}.items()})

cases = [
    case("relu", "relu", 10, 100, False, False, 1, pt="torch"),  # nn4n's defaults: the NPZ imports without flags
    case("relu_ei_init", "relu", 10, 50, True, True, 2, biases=False),
    case("tanh_init", "tanh", 5, 50, False, True, 3),
    case("tanh_ei", "tanh", 10, 100, True, False, 4, alpha_key=True),
    case("sigmoid", "sigmoid", 1, 20, False, False, 5),
    case("sigmoid_ei_init", "sigmoid", 10, 100, True, True, 6, pt="torch"),
    case("retanh_init", "retanh", 10, 30, False, True, 7),
    case("retanh_ei", "retanh", 2, 40, True, False, 8, pt="numpy"),
    case("relu_multiarea_nn4n", "relu", 10, 50, True, True, 9, pt="nn4n"),  # a MultiAreaEI model as nn4n saves it
    case("tanh_ei_views", "tanh", 5, 40, True, False, 10, pt="views"),
]
views_fixture()
with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump({"generator": "gen_fixtures.py", "torch": torch.__version__, "cases": cases}, f, indent=1)

#!/usr/bin/env python3
"""PyTorch peer for ratesim: the nn4n (v1.2.0-style) CTRNN inference loop.

Runs, under torch.no_grad(), the step an nn4n user pays for, one Python-level
iteration per time step with nn.Linear layers (hidden_layer, input_layer,
readout_layer), batch-first:

    v_t  = (1-alpha)*v_{t-1} + alpha*(hidden_layer(r_{t-1}) + input_layer(u_t))
    v_t += alpha * (sigma_pre * randn)          pre-activation noise (--noise on)
    r_t  = act(v_t)                             relu | tanh | sigmoid | retanh
    r_t += sigma_post * randn                   post-activation noise (--noise on)
    y_t  = readout_layer(r_t)

alpha is a per-unit vector (dt/tau).  r_t and y_t are written each step into
preallocated (B,T,N) / (B,T,O) record tensors, as nn4n does.

--sweep K runs K independent networks (own weights each), B trials each, with
torch.baddbmm (bmm + bias) over the instance axis: weights shaped (K,N,N).

Timing: warm-up, then --reps repetitions of a full T-step forward; the median
per-step time is reported.  On cuda the timed region is bracketed by
torch.cuda.synchronize().  Flop count per step: 2*B*(N*N + N*I + N*O) (*K).

Run with a Python that has torch (on Debian: /usr/bin/python3).  See README.md.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _peer_common as pc  # noqa: E402

PEER = "torch-loop"


def import_torch():
    try:
        import torch  # noqa: F401
    except ImportError as e:
        pc.die("PyTorch is not importable from %s (%s). Use a Python that has torch, "
               "e.g. Debian's /usr/bin/python3 with python3-torch." % (sys.executable, e),
               code=pc.EXIT_MISSING)
    return torch


def activation_fn(torch, name):
    if name == "relu":
        return torch.relu
    if name == "tanh":
        return torch.tanh
    if name == "sigmoid":
        return torch.sigmoid
    if name == "retanh":
        return lambda x: torch.relu(torch.tanh(x))
    raise ValueError(name)


def loaded_blas(torch, device):
    """Which BLAS the process actually uses (reference BLAS vs OpenBLAS matters a lot)."""
    if device == "cuda":
        return "cublas"
    names = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if line.count("/") else ""
                low = path.lower()
                if path.startswith("/") and ("blas" in low or "mkl" in low or "blis" in low) \
                        and "cublas" not in low:
                    names.add(os.path.realpath(path))
    except OSError:
        pass
    if not names:
        return "unknown"
    return ",".join(sorted(names))


def build_models(torch, nn, args, n, dtype, device):
    act = activation_fn(torch, args.act)
    sigma = args.sigma if args.noise else 0.0
    alpha_val = args.dt / args.tau
    i_dim, o_dim = args.inputs, args.outputs

    class CTRNN(nn.Module):
        """One network, nn4n layer names and per-step op sequence."""

        def __init__(self):
            super().__init__()
            kw = dict(dtype=dtype, device=device)
            self.input_layer = nn.Linear(i_dim, n, **kw)
            self.hidden_layer = nn.Linear(n, n, **kw)
            self.readout_layer = nn.Linear(n, o_dim, **kw)
            self.alpha = nn.Parameter(torch.full((n,), alpha_val, **kw), requires_grad=False)
            self.preact_noise = sigma
            self.postact_noise = sigma
            self.readout_each_step = args.readout == "step"

        def forward(self, u):
            bsz, steps, _ = u.shape
            v = torch.zeros(bsz, n, dtype=dtype, device=device)
            r = act(v)
            rec_r = torch.zeros(bsz, steps, n, dtype=dtype, device=device)
            rec_y = None
            if self.readout_each_step:
                rec_y = torch.zeros(bsz, steps, o_dim, dtype=dtype, device=device)
            alpha = self.alpha
            for t in range(steps):
                v = (1 - alpha) * v + alpha * (self.hidden_layer(r) + self.input_layer(u[:, t]))
                if self.preact_noise > 0:
                    eps = torch.randn(bsz, n, dtype=dtype, device=device) * self.preact_noise
                    v = v + alpha * eps
                r = act(v)
                if self.postact_noise > 0:
                    r = r + torch.randn(bsz, n, dtype=dtype, device=device) * self.postact_noise
                rec_r[:, t] = r
                if self.readout_each_step:
                    rec_y[:, t] = self.readout_layer(r)
            if not self.readout_each_step:
                rec_y = self.readout_layer(rec_r)
            return rec_y, rec_r

        def make_input(self, bsz, steps, gen):
            return torch.rand(bsz, steps, i_dim, generator=gen, dtype=dtype).to(device)

    class CTRNNSweep(nn.Module):
        """K independent networks stepped together with baddbmm over the instance axis."""

        def __init__(self, k, gen):
            super().__init__()
            kw = dict(dtype=dtype)

            def uni(shape, fan_in):
                bound = 1.0 / (fan_in ** 0.5)  # nn.Linear's default init range
                w = (torch.rand(*shape, generator=gen, **kw) * 2 - 1) * bound
                return nn.Parameter(w.to(device), requires_grad=False)

            self.k = k
            self.w_hid = uni((k, n, n), n)        # (K, N_out, N_in), like nn.Linear.weight
            self.b_hid = uni((k, 1, n), n)
            self.w_in = uni((k, n, i_dim), i_dim)
            self.b_in = uni((k, 1, n), i_dim)
            self.w_out = uni((k, o_dim, n), n)
            self.b_out = uni((k, 1, o_dim), n)
            self.alpha = nn.Parameter(torch.full((k, 1, n), alpha_val, dtype=dtype, device=device),
                                      requires_grad=False)
            self.preact_noise = sigma
            self.postact_noise = sigma
            self.readout_each_step = args.readout == "step"

        def forward(self, u):
            k, bsz, steps, _ = u.shape
            v = torch.zeros(k, bsz, n, dtype=dtype, device=device)
            r = act(v)
            rec_r = torch.zeros(k, bsz, steps, n, dtype=dtype, device=device)
            rec_y = None
            if self.readout_each_step:
                rec_y = torch.zeros(k, bsz, steps, o_dim, dtype=dtype, device=device)
            w_hid_t = self.w_hid.transpose(1, 2)
            w_in_t = self.w_in.transpose(1, 2)
            w_out_t = self.w_out.transpose(1, 2)
            alpha = self.alpha
            for t in range(steps):
                rec = torch.baddbmm(self.b_hid, r, w_hid_t)
                inp = torch.baddbmm(self.b_in, u[:, :, t], w_in_t)
                v = (1 - alpha) * v + alpha * (rec + inp)
                if self.preact_noise > 0:
                    eps = torch.randn(k, bsz, n, dtype=dtype, device=device) * self.preact_noise
                    v = v + alpha * eps
                r = act(v)
                if self.postact_noise > 0:
                    r = r + torch.randn(k, bsz, n, dtype=dtype, device=device) * self.postact_noise
                rec_r[:, :, t] = r
                if self.readout_each_step:
                    rec_y[:, :, t] = torch.baddbmm(self.b_out, r, w_out_t)
            if not self.readout_each_step:
                rec_y = torch.baddbmm(self.b_out, rec_r.reshape(k, bsz * steps, n),
                                      w_out_t).reshape(k, bsz, steps, o_dim)
            return rec_y, rec_r

        def make_input(self, bsz, steps, gen):
            return torch.rand(self.k, bsz, steps, i_dim, generator=gen, dtype=dtype).to(device)

    return CTRNN, CTRNNSweep


def main(argv=None):
    parser = pc.build_parser("torch_ctrnn.py", __doc__.strip().splitlines()[0])
    parser.add_argument("--readout", choices=("step", "end"), default="step",
                        help="step: y_t = readout_layer(r_t) inside the loop (default); "
                             "end: one readout over the whole (B,T,N) record after the loop")
    args = parser.parse_args(argv)
    sizes = args.sizes or pc.default_sizes()

    torch = import_torch()
    nn = torch.nn

    if args.device == "cuda" and not torch.cuda.is_available():
        pc.die("--device cuda requested but torch.cuda.is_available() is False "
               "(torch %s, built with CUDA %s)" % (torch.__version__, torch.version.cuda))
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    dtype = torch.float32 if args.dtype == "f32" else torch.float64
    itemsize = 4 if args.dtype == "f32" else 8
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    blas = None
    dev_name = "cpu"
    if args.device == "cuda":
        dev_name = torch.cuda.get_device_name(0)

    header = ["peer=%s torch=%s device=%s (%s) dtype=%s threads=%d noise=%s act=%s readout=%s%s"
              % (PEER, torch.__version__, args.device, dev_name, args.dtype, threads,
                 "on(sigma=%g)" % args.sigma if args.noise else "off", args.act, args.readout,
                 " sweep K=%d" % args.sweep if args.sweep else "")]
    rep = None
    k = args.sweep or 1

    with torch.no_grad():
        for (n, b) in sizes:
            CTRNN, CTRNNSweep = build_models(torch, nn, args, n, dtype, device)
            if args.sweep:
                model = CTRNNSweep(args.sweep, gen)
            else:
                model = CTRNN()
            model.eval()

            def run(steps):
                u = model.make_input(b, steps, gen)
                sync()
                t0 = time.perf_counter()
                y, r = model(u)
                sync()
                dt = time.perf_counter() - t0
                if not (torch.isfinite(r[..., -1, :]).all() and torch.isfinite(y[..., -1, :]).all()):
                    pc.die("non-finite state at N=%d B=%d" % (n, b))
                del y, r, u
                return dt

            # warm-up (allocator, BLAS/cuBLAS handles, kernel caches), then calibrate T
            run(3)
            probe = 10
            probe_s = run(probe)
            if args.steps is not None:
                steps = args.steps
            else:
                # a second, longer probe when the first was too short to trust
                if probe_s < 0.02:
                    probe = max(probe, min(2000, int(0.05 / max(probe_s / probe, 1e-7))))
                    probe_s = run(probe)
                steps = pc.choose_steps(probe_s / probe, n, b, args.outputs, k, itemsize,
                                        args.max_record_mb, args.rep_time)
            times = [run(steps) for _ in range(args.reps)]

            if blas is None:
                blas = loaded_blas(torch, args.device)
                header.append("blas=%s" % blas)
                if rep is None:
                    rep = pc.Reporter(args.json, header)
            rec = pc.make_result(PEER, args, n, b, steps, times, threads,
                                 {"torch_version": torch.__version__},
                                 extra={"blas": blas, "readout": args.readout})
            rep.add(rec)
            del model
    rep.finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""JAX peer for ratesim: the nn4n-style CTRNN step compiled with jax.jit + jax.lax.scan.

Same step, CLI and JSON contract as torch_ctrnn.py (peer name "jax-scan"):

    v_t  = (1-alpha)*v_{t-1} + alpha*(r_{t-1} @ W_hid.T + b_hid + u_t @ W_in.T + b_in)
    v_t += alpha * (sigma_pre * randn)          pre-activation noise (--noise on)
    r_t  = act(v_t)                             relu | tanh | sigmoid | retanh
    r_t += sigma_post * randn                   post-activation noise (--noise on)
    y_t  = r_t @ W_out.T + b_out

The whole T-step loop is one jitted function: lax.scan over time, records of
r_t and y_t stacked by scan and returned batch-first (B,T,N) / (B,T,O).  Noise
keys are split inside the scan body (jax.random.split per step).  --sweep K
vmaps the single-network function over K instances, each with its own weights.

Compilation is excluded from the timing (each distinct T is compiled and run
once before it is timed); every timed call ends in block_until_ready.

JAX is imported lazily: without it the script exits with status 3 and a
message saying so.  --dtype f64 turns on jax_enable_x64.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _peer_common as pc  # noqa: E402

PEER = "jax-scan"
EXIT_NO_JAX = pc.EXIT_MISSING


def import_jax(args):
    """Import jax after setting the environment it reads at import time."""
    if args.device == "cpu":
        # Keep a CPU run from initialising (and grabbing memory on) a GPU.
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        if args.threads is not None:
            if args.threads == 1:
                flags = os.environ.get("XLA_FLAGS", "")
                flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
                os.environ["XLA_FLAGS"] = flags.strip()
            else:
                pc.warn("XLA:CPU has no portable knob for %d threads; using its default "
                        "(all cores). Use taskset to pin cores instead." % args.threads)
    else:
        # Do not let XLA preallocate 75% of GPU memory; the record buffers are sized by us.
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        sys.stderr.write(
            "jax_ctrnn.py: JAX is not installed for %s (%s).\n"
            "This peer only runs where JAX is available (e.g. the GPU machine: "
            "pip install 'jax[cuda12]'; CPU: pip install jax).\n"
            "The PyTorch peer, torch_ctrnn.py, has the same CLI.\n" % (sys.executable, e))
        sys.exit(EXIT_NO_JAX)
    if args.dtype == "f64":
        jax.config.update("jax_enable_x64", True)
    if args.matmul_precision != "default":
        jax.config.update("jax_default_matmul_precision", args.matmul_precision)
    return jax, jnp


def pick_device(jax, kind):
    if kind == "cpu":
        return jax.devices("cpu")[0]
    for name in ("cuda", "gpu"):
        try:
            devs = jax.devices(name)
        except RuntimeError:
            continue
        if devs:
            return devs[0]
    pc.die("--device cuda requested but JAX has no GPU backend (jax %s, backends: %s)"
           % (jax.__version__, ", ".join(d.platform for d in jax.devices())))


def activation_fn(jax, jnp, name):
    if name == "relu":
        return jax.nn.relu
    if name == "tanh":
        return jnp.tanh
    if name == "sigmoid":
        return jax.nn.sigmoid
    if name == "retanh":
        return lambda x: jax.nn.relu(jnp.tanh(x))
    raise ValueError(name)


def make_simulate(jax, jnp, act, sigma, n, readout_each_step, dtype):
    """Returns simulate(params, u, key) -> (Y, R) for one network.

    params = (w_hid (N,N), b_hid (N,), w_in (N,I), b_in (N,), w_out (O,N), b_out (O,), alpha (N,))
    u: (B,T,I) inputs, batch-first.  Returns Y (B,T,O) and R (B,T,N).
    """

    def simulate(params, u, key):
        w_hid, b_hid, w_in, b_in, w_out, b_out, alpha = params
        bsz = u.shape[0]
        v0 = jnp.zeros((bsz, n), dtype)
        r0 = act(v0)
        xs = jnp.swapaxes(u, 0, 1)  # (T,B,I): scan runs over the leading axis

        def step(carry, u_t):
            v, r, k = carry
            v = (1 - alpha) * v + alpha * (r @ w_hid.T + b_hid + u_t @ w_in.T + b_in)
            if sigma > 0:
                k, k_pre, k_post = jax.random.split(k, 3)
                v = v + alpha * (sigma * jax.random.normal(k_pre, (bsz, n), dtype))
            r = act(v)
            if sigma > 0:
                r = r + sigma * jax.random.normal(k_post, (bsz, n), dtype)
            if readout_each_step:
                y = r @ w_out.T + b_out
                return (v, r, k), (r, y)
            return (v, r, k), r

        _, outs = jax.lax.scan(step, (v0, r0, key), xs)
        if readout_each_step:
            rec_r, rec_y = outs                      # (T,B,N), (T,B,O)
            return jnp.swapaxes(rec_y, 0, 1), jnp.swapaxes(rec_r, 0, 1)
        rec_r = jnp.swapaxes(outs, 0, 1)             # (B,T,N)
        return rec_r @ w_out.T + b_out, rec_r

    return simulate


def make_params(np, rng, k, n, i_dim, o_dim, alpha_val, np_dtype):
    """nn.Linear-style init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
    With k=None: one network; otherwise a leading instance axis of size k."""
    lead = () if k is None else (k,)

    def uni(shape, fan_in):
        bound = 1.0 / (fan_in ** 0.5)
        return rng.uniform(-bound, bound, size=lead + shape).astype(np_dtype)

    return (
        uni((n, n), n),              # w_hid
        uni((n,), n),                # b_hid
        uni((n, i_dim), i_dim),      # w_in
        uni((n,), i_dim),            # b_in
        uni((o_dim, n), n),          # w_out
        uni((o_dim,), n),            # b_out
        np.full(lead + (n,), alpha_val, dtype=np_dtype),  # alpha, per unit
    )


def main(argv=None):
    parser = pc.build_parser("jax_ctrnn.py", __doc__.strip().splitlines()[0])
    parser.add_argument("--matmul-precision", choices=("default", "highest"), default="default",
                        help="default: JAX's own choice (TF32 tensor cores for float32 on "
                             "Ampere/Hopper GPUs); highest: true float32 products")
    parser.add_argument("--readout", choices=("step", "end"), default="step",
                        help="step: y_t computed inside the scan body (default); "
                             "end: one readout over the whole (B,T,N) record after the scan")
    args = parser.parse_args(argv)
    sizes = args.sizes or pc.default_sizes()

    jax, jnp = import_jax(args)
    import numpy as np

    dev = pick_device(jax, args.device)
    dtype = jnp.float32 if args.dtype == "f32" else jnp.float64
    np_dtype = np.float32 if args.dtype == "f32" else np.float64
    itemsize = 4 if args.dtype == "f32" else 8
    sigma = args.sigma if args.noise else 0.0
    act = activation_fn(jax, jnp, args.act)
    k = args.sweep
    rng = np.random.default_rng(args.seed)

    if args.device == "cpu":
        threads = args.threads if args.threads == 1 else (os.cpu_count() or 1)
    else:
        threads = None
    try:
        import jaxlib
        jaxlib_version = jaxlib.__version__
    except Exception:  # pragma: no cover - jaxlib always ships with jax
        jaxlib_version = None
    versions = {"torch_version": None, "jax_version": jax.__version__,
                "jaxlib_version": jaxlib_version}

    header = ["peer=%s jax=%s jaxlib=%s device=%s (%s) dtype=%s threads=%s noise=%s act=%s "
              "readout=%s%s"
              % (PEER, jax.__version__, jaxlib_version, args.device,
                 getattr(dev, "device_kind", str(dev)), args.dtype, threads,
                 "on(sigma=%g)" % args.sigma if args.noise else "off", args.act, args.readout,
                 " sweep K=%d" % k if k else "")]
    rep = pc.Reporter(args.json, header)

    for (n, b) in sizes:
        simulate = make_simulate(jax, jnp, act, sigma, n, args.readout == "step", dtype)
        if k:
            fn = jax.jit(jax.vmap(simulate, in_axes=(0, 0, 0)))
        else:
            fn = jax.jit(simulate)
        params = tuple(jax.device_put(p, dev)
                       for p in make_params(np, rng, k, n, args.inputs, args.outputs,
                                            args.dt / args.tau, np_dtype))
        seed_box = [args.seed]

        def inputs(steps):
            shape = ((k,) if k else ()) + (b, steps, args.inputs)
            u = jax.device_put(rng.random(shape).astype(np_dtype), dev)
            seed_box[0] += 1
            key = jax.random.PRNGKey(seed_box[0])
            if k:
                key = jax.random.split(key, k)
            key = jax.device_put(key, dev)
            u.block_until_ready()
            key.block_until_ready()
            return u, key

        def run(steps):
            u, key = inputs(steps)
            t0 = time.perf_counter()
            y, r = fn(params, u, key)
            y.block_until_ready()
            r.block_until_ready()
            dt = time.perf_counter() - t0
            last_ok = bool(jnp.isfinite(r[..., -1, :]).all()) and \
                bool(jnp.isfinite(y[..., -1, :]).all())
            if not last_ok:
                pc.die("non-finite state at N=%d B=%d" % (n, b))
            del y, r, u
            return dt

        if args.steps is not None:
            steps = args.steps
        else:
            probe = pc.MIN_STEPS
            run(probe)                 # compile + first run
            probe_s = run(probe)
            if probe_s < 0.02:         # too short to trust: probe longer (one more compile)
                probe = min(20000, max(probe, int(0.05 / max(probe_s / probe, 1e-8))))
                run(probe)
                probe_s = run(probe)
            steps = pc.choose_steps(probe_s / probe, n, b, args.outputs, k or 1, itemsize,
                                    args.max_record_mb, args.rep_time)
        run(steps)                     # compile for this T (no-op if cached) + warm-up
        times = [run(steps) for _ in range(args.reps)]
        rec = pc.make_result(PEER, args, n, b, steps, times, threads, versions,
                             extra={"readout": args.readout, "matmul_precision": args.matmul_precision,
                                    "device_kind":
                                    getattr(dev, "device_kind", str(dev))})
        rep.add(rec)
        del params, fn
    rep.finish()


if __name__ == "__main__":
    main()

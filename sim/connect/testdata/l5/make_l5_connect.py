#!/usr/bin/python3
"""Fixtures for sim/connect's population builders, from the original V1
layer-5 model (github.com/Jieran-S/L5Neuron_RateModel, commit 5db6801).

Run from this directory with Debian's python3 (numpy 1.24, matplotlib and
pandas installed, as the original's helper.py imports them):

    /usr/bin/python3 make_l5_connect.py [GIT_DIR]

GIT_DIR is a git directory of the original repository (default: the fetch
tool's mirror /work/.mirror/Jieran-S+L5Neuron_RateModel/repo). Its files are
exported to a temporary directory and imported from there; nothing of the
original is copied into ratesim. The output is byte-for-byte reproducible
(arrays written as deflated .npy members of a zip with fixed timestamps;
the same zlib gives the same bytes).

indegree.npz   p, n: probabilities and presynaptic sizes; k = int(np.round(p*n))
               as the original's create_synapses computes its in-degree.
l5_w.npz       The original's network of run_simulation's first simulation
               (seed 42, debug_config): w_initial (4x4, pre x post, signed),
               w_raw = generate_connectivity(N, prob, w_initial, w_noise)
               (post, pre), lam = max(np.linalg.eigvals(w_raw).real),
               rho = max |eigvals(w_raw)|, w = w_raw / lam; and N.
eig_<k>.npz    Test matrices a (row-major) with ev = np.linalg.eigvals(a) as ev_re, ev_im,
               max_real, rho, and a_over_max_real = a / max_real.
"""
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

COMMIT = "5db6801"


def savez(path, **arrays):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue(), compresslevel=9)


def export(git_dir, dest):
    for path in ["Implementation/helper.py", "configs/debug_config.py"]:
        out = os.path.join(dest, path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(subprocess.check_output(["git", "--git-dir", git_dir, "show", f"{COMMIT}:{path}"]))
    for pkg in ["Implementation", "configs"]:
        open(os.path.join(dest, pkg, "__init__.py"), "w").close()


def main():
    git_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/Jieran-S+L5Neuron_RateModel/repo"
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as tmp:
        export(git_dir, tmp)
        sys.path.insert(0, tmp)
        import configs.debug_config as p
        import Implementation.helper as helper

        # In-degrees: the original's rounding, on its own table, on exact
        # halves (the products that round to even) and on a grid.
        ps, ns = [], []
        for a in range(4):
            for b in range(4):
                ps.append(p.prob[a][b]); ns.append(p.N[a])
        for n in [1, 2, 3, 4, 5, 6, 10, 12, 34, 45, 46, 50, 275]:
            for k in range(0, 2 * n + 1):
                ps.append(k / (2 * n)); ns.append(n)
        for q in range(0, 101):
            for n in [7, 33, 45, 46, 99, 275, 1000]:
                ps.append(q / 100); ns.append(n)
        ps = np.array(ps, dtype=np.float64); ns = np.array(ns, dtype=np.int64)
        ks = np.array([int(np.round(x * m)) for x, m in zip(ps, ns)], dtype=np.int64)
        savez("indegree.npz", p=ps, n=ns, k=ks)

        # run_simulation's first simulation, up to the normalization, in
        # its draw order (ds_os_model.py seeds 42 at module level).
        np.random.seed(42)
        w_target = p.w_target
        w_initial = np.abs(w_target)
        for i in range(4):
            for j in range(4):
                w_initial[i, j] = abs(np.random.normal(w_target[i, j], scale=0.1 * abs(w_target[i, j])))
        w_initial[-2:, ] *= -1
        n = int(np.sum(p.N))
        np.random.uniform(low=0, high=1, size=(n,))  # initial rates
        np.random.uniform(0, 1, (n,))                # positions: length
        np.random.uniform(0, 2, (n,))                # positions: angle
        w_raw = helper.generate_connectivity(p.N, p.prob, w_initial, p.w_noise)
        ev = np.linalg.eigvals(w_raw)
        lam = max(ev.real)
        savez("l5_w.npz", N=np.asarray(p.N, dtype=np.int64), w_initial=w_initial, w_raw=w_raw,
              lam=np.float64(lam), rho=np.float64(np.max(np.abs(ev))), w=w_raw / lam)

        rng = np.random.default_rng(13)
        mats = {
            "gauss": rng.standard_normal((60, 60)) / np.sqrt(60),
            # rightmost eigenvalues complex: max real < spectral radius
            "rotation": np.kron(np.eye(20), np.array([[0.2, -1.5], [1.5, 0.2]])) + 0.01 * rng.standard_normal((40, 40)),
            # a shifted E/I matrix with a dominant real eigenvalue
            "ei": np.abs(rng.standard_normal((50, 50))) * np.where(np.arange(50) < 40, 1.0, -2.5) * 0.1 + 0.5 * np.eye(50),
        }
        for name, a in mats.items():
            ev = np.linalg.eigvals(a)
            mr = max(ev.real)
            savez(f"eig_{name}.npz", a=a, ev_re=ev.real.copy(), ev_im=ev.imag.copy(), max_real=np.float64(mr), rho=np.float64(np.max(np.abs(ev))),
                  a_over_max_real=a / mr)


if __name__ == "__main__":
    main()

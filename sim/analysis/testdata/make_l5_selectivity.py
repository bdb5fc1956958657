#!/usr/bin/python3
"""Fixtures for sim/analysis's selectivity, from the original V1 layer-5
model (github.com/Jieran-S/L5Neuron_RateModel, commit 5db6801).

Run from this directory with Debian's python3 (numpy 1.24, scipy 1.10,
matplotlib, pandas and sympy installed; seaborn, hyperopt and joblib, which
ds_os_model.py imports but the simulation does not use, are stubbed):

    /usr/bin/python3 make_l5_selectivity.py [GIT_DIR]

GIT_DIR is a git directory of the original repository (default: the fetch
tool's mirror /work/.mirror/Jieran-S+L5Neuron_RateModel/repo). Its files are
exported to a temporary directory and imported from there; nothing of the
original is copied into ratesim. The output is byte-for-byte reproducible
with the same numpy and zlib (deflated .npy members, fixed timestamps).

units.npz  resp (4, n): responses to the 4 directions of n = 42 units in
           populations N = [10, 12, 9, 11], with planted cases (all below the
           threshold 1e-4, exactly 1e-4, a NaN, ties, a negative OS, zeros);
           unit (n, 3): helper.calculate_selectivity's OS, DS, OS_p of each unit
           alone; reliable (4, r): the responses selectivity_eva_intrasim keeps;
           counts (4): reliable units per population; off (4): its
           activity_off; stats (6, 4): calculate_selectivity of the reliable
           units (os mean, os std, ds mean, ds std, os_p mean, os_p std).
run.npz    run_simulation of debug_config with N = [3, 9, 3, 3], sim_number 2,
           Ttau = 60 (600 steps), Slide_BCM (learning from step 500): raw
           (sims, 4, 600, 18), the rates SimpleNetwork.run returned;
           eva_after (sims, 2, 4) and eva_before: activity_eva's Amean and
           Astd; sel (2, 12, 4): selectivity_df (after, before); rel (3):
           Real_OS, Real_DS, Real_OS_paper (NaN for None); counters (2):
           nan_counter, not_eq_counter; w_eval (sims*4, 24, 18, 18) and
           w_init (sims*4, 18, 18): weight_eva's arguments; weight_df (9, 16);
           loss: helper.lossfun of the returned sim_dic; w_compare (4, 4).
weights.npz  weight_eva on random weights w (5, 30, 18, 18) and w0 (5, 18, 18)
           with N = [3, 9, 3, 3]: out (9, 16).
full.npz   activity_eva and weight_eva at full size (N = [45, 275, 46, 34]), on
           arrays defined by integer arithmetic, so a test rebuilds them
           exactly: act[d, b, i] = ((d*100003 + b*4001 + i)*7919 % 1000003)/1000003
           (4, 24, 400) -> a_mean, a_std (4) and a_unit (4, 400), for the
           whole 24 bins (after, duration 500: the last 20) and 2 (before);
           w[r, b, i, j] = (((r*31 + b)*160000 + i*400 + j)*7919 % 1000003)/1000003 - 0.5
           (2, 25, 400, 400) and w0[r, i, j] = ((r*160000 + i*400 + j)*104729 % 1000003)/1000003 - 0.5
           -> weight (9, 16). Here the CC blocks (4*20*275 and 275*275 values)
           exceed numpy's 8192-element buffer.
loss.npz   helper.lossfun on tables built from random numbers: weight (9, 16),
           sel (2, 12, 4), w_compare (4, 4), loss.
"""
import io
import math
import os
import subprocess
import sys
import tempfile
import types
import zipfile

import numpy as np

COMMIT = "5db6801"
FILES = ["ds_os_model.py", "Implementation/helper.py", "Implementation/network_model.py",
         "Implementation/integration_methods.py", "Implementation/tools.py",
         "Implementation/visualization.py", "configs/debug_config.py"]


def savez(path, **arrays):
    with zipfile.ZipFile(path, "w") as z:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue(), compresslevel=9)


def export(git_dir, dest):
    for path in FILES:
        out = os.path.join(dest, path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(subprocess.check_output(["git", "--git-dir", git_dir, "show", f"{COMMIT}:{path}"]))
    for pkg in ["Implementation", "configs"]:
        open(os.path.join(dest, pkg, "__init__.py"), "w").close()


def stub_unused_modules():
    for name in ["seaborn", "hyperopt", "joblib"]:
        if name not in sys.modules:
            try:
                __import__(name)
            except ImportError:
                m = types.ModuleType(name)
                m.Parallel = m.delayed = None
                sys.modules[name] = m


def units_case(helper, nm):
    rng = np.random.default_rng(21)
    N = [10, 12, 9, 11]
    n = sum(N)
    resp = rng.uniform(0.01, 3, (4, n))
    resp[:, 1] = [5e-5, 0, 9.9e-5, 1e-6]        # all below 1e-4: unreliable
    resp[:, 2] = [5e-5, 1e-4, 0, 0]             # exactly the threshold: reliable
    resp[:, 3] = [1.0, 0.9, 0.0, 0.9]           # OS < 0 about the preferred direction
    resp[:, 12] = [2.0, 2.0, 1.0, 2.0]          # ties: the first maximum
    resp[:, 13] = [0.5, np.nan, 0.2, 0.1]       # NaN: reliable in L5, argmax picks it
    resp[:, 25] = [1e-5, 0.0, 0.0, 3.0]         # zeros
    resp[:, 31] = [0.0, 0.0, 2.0, 0.0]
    resp[:, 33] = [1e-3, 1e-3, 1e-3, 1e-3]      # flat
    with np.errstate(all="ignore"):
        unit = []
        for i in range(0, n, 4):
            cols = list(range(i, min(i + 4, n)))
            while len(cols) < 4:
                cols.append(cols[-1])
            out = helper.calculate_selectivity([resp[:, [c]] for c in cols])
            for k, c in enumerate(cols[: min(4, n - i)]):
                unit.append([out[0][k], out[2][k], out[4][k]])
        fake = types.SimpleNamespace(N=N)
        offs = np.cumsum([0] + N)
        split = [resp[:, offs[p]:offs[p + 1]] for p in range(4)]
        popu, off = nm.SimpleNetwork.selectivity_eva_intrasim(fake, split)
        stats = np.array(helper.calculate_selectivity(popu))
    savez("units.npz", N=np.array(N, dtype=np.int64), resp=resp, unit=np.array(unit),
          reliable=np.concatenate(popu, axis=1), counts=np.array([x.shape[1] for x in popu], dtype=np.int64),
          off=np.array(off, dtype=np.int64), stats=stats)


def run_case(ds, nm, helper, p):
    p.N = np.array([3, 9, 3, 3])
    p.sim_number = 2
    raw, eva, w_args = [], [], []
    run, activity_eva, weight_eva = nm.SimpleNetwork.run, nm.SimpleNetwork.activity_eva, nm.SimpleNetwork.weight_eva

    def run_rec(self, *a, **k):
        act, w = run(self, *a, **k)
        raw.append(np.array(act))
        return act, w

    def eva_rec(self, *a, **k):
        out = activity_eva(self, *a, **k)
        eva.append([out[0], out[1]])
        return out

    def weight_rec(self, weights, initial_weights):
        w_args.append((np.array(weights), np.array(initial_weights)))
        return weight_eva(self, weights, initial_weights)

    nm.SimpleNetwork.run, nm.SimpleNetwork.activity_eva, nm.SimpleNetwork.weight_eva = run_rec, eva_rec, weight_rec
    np.random.seed(42)
    with np.errstate(all="ignore"):
        sim_dic, _, _ = ds.run_simulation(Amplitude=p.amplitude, Steady_input=p.steady_input, spatialF=p.spatialF,
                                    temporalF=p.temporalF, spatialPhase=p.spatialPhase, learning_rule="Slide_BCM",
                                    Ttau=60, visualization_mode=False, neurons="all", phase_list=p.phase_list,
                                    tau=p.tau, tau_learn=p.tau_learn, tau_threshold=p.tau_threshold)
        loss = helper.lossfun(sim_dic, config=p)
    s = sim_dic["summary_info"]
    sel = sim_dic["selectivity_df"]
    savez("run.npz", N=np.array(p.N, dtype=np.int64), raw=np.array(raw).reshape(2, 4, 600, 18),
          eva_after=np.array(eva[0::2]), eva_before=np.array(eva[1::2]),
          sel=np.stack([sel.loc["after"].to_numpy(), sel.loc["before"].to_numpy()]),
          rel=np.array([np.nan if s[k] is None else s[k] for k in ["Real_OS", "Real_DS", "Real_OS_paper"]]),
          counters=np.array([s["nan_counter"], s["not_eq_counter"]], dtype=np.int64),
          w_eval=w_args[0][0], w_init=w_args[0][1], weight_df=sim_dic["weight_df"].to_numpy(),
          loss=np.float64(loss), w_compare=p.w_compare)


def weights_case(nm):
    rng = np.random.default_rng(8)
    w = rng.normal(0, 0.3, (5, 30, 18, 18))
    w0 = rng.normal(0, 0.3, (5, 18, 18))
    with np.errstate(all="ignore"):
        out = nm.SimpleNetwork.weight_eva(types.SimpleNamespace(N=[3, 9, 3, 3]), w, w0)
    savez("weights.npz", w=w, w0=w0, out=out)


def loss_case(helper, pd):
    rng = np.random.default_rng(34)
    weight = rng.normal(0, 0.1, (9, 16))
    sel = rng.uniform(0, 1, (2, 12, 4))
    w_compare = rng.normal(0, 0.05, (4, 4))
    wcol = [f"{a}-{b}" for a in ["CS", "CC", "PV", "SST"] for b in ["CS", "CC", "PV", "SST"]]
    wind = ["Mean_weight", "Std_mean_W", "Mean_std_W", "Mean_Wini", "Std_mean_Wini", "Mean_std_Wini",
            "Mean_Wdel", "Std_mean_Wdel", "Mean_std_Wdel"]
    sind = ["Mean_act", "Std_of_mean", "Mean_std", "Mean_of_OS", "Std_mean_OS", "Mean_std_OS",
            "Mean_of_DS", "Std_mean_DS", "Mean_std_DS", "Mean_of_OS_p", "Std_mean_OS_p", "Mean_std_OS_p"]
    cols = ["CS", "CC", "PV", "SST"]
    sel_df = pd.concat([pd.DataFrame(sel[0], index=sind, columns=cols), pd.DataFrame(sel[1], index=sind, columns=cols)],
                       keys=["after", "before"], names=["Condition", "Property"])
    sim_dic = {"weight_df": pd.DataFrame(weight, columns=wcol, index=wind), "selectivity_df": sel_df}
    loss = helper.lossfun(sim_dic, config=types.SimpleNamespace(w_compare=w_compare))
    savez("loss.npz", weight=weight, sel=sel, w_compare=w_compare, loss=np.float64(loss))


def full_case(nm):
    N = [45, 275, 46, 34]
    d, b, i = np.meshgrid(np.arange(4), np.arange(24), np.arange(400), indexing="ij")
    act = ((d * 100003 + b * 4001 + i) * 7919 % 1000003) / 1000003
    fake = types.SimpleNamespace(N=N)
    a_mean, a_std, a_unit = nm.SimpleNetwork.activity_eva(fake, act, 25)
    b_mean, b_std, b_unit = nm.SimpleNetwork.activity_eva(fake, act[:, :2], 25, 5 * 25)
    r, b, i, j = np.meshgrid(np.arange(2), np.arange(25), np.arange(400), np.arange(400), indexing="ij")
    w = (((r * 31 + b) * 160000 + i * 400 + j) * 7919 % 1000003) / 1000003 - 0.5
    r, i, j = np.meshgrid(np.arange(2), np.arange(400), np.arange(400), indexing="ij")
    w0 = ((r * 160000 + i * 400 + j) * 104729 % 1000003) / 1000003 - 0.5
    weight = nm.SimpleNetwork.weight_eva(fake, w, w0)
    savez("full.npz", a_mean=np.array(a_mean), a_std=np.array(a_std), a_unit=np.concatenate(a_unit, axis=1),
          b_mean=np.array(b_mean), b_std=np.array(b_std), b_unit=np.concatenate(b_unit, axis=1), weight=weight)


def main():
    git_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/Jieran-S+L5Neuron_RateModel/repo"
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as tmp:
        export(git_dir, tmp)
        sys.path.insert(0, tmp)
        stub_unused_modules()
        cwd = os.getcwd()
        os.chdir(tmp)  # ds_os_model resolves its imports from the working directory
        try:
            import configs.debug_config as p
            import Implementation.helper as helper
            import Implementation.network_model as nm
            import ds_os_model as ds
            import pandas as pd
        finally:
            os.chdir(cwd)
        units_case(helper, nm)
        weights_case(nm)
        loss_case(helper, pd)
        full_case(nm)
        run_case(ds, nm, helper, p)


if __name__ == "__main__":
    main()

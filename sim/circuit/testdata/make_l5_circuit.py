#!/usr/bin/python3
"""Fixtures for sim/circuit, from the original V1 layer-5 model
(github.com/Jieran-S/L5Neuron_RateModel, commit 5db6801).

Run from this directory with Debian's python3 (numpy 1.24, scipy 1.10 —
Slide_BCM needs scipy.integrate.simps with even='avg', scipy <= 1.10 —,
matplotlib and pandas installed):

    /usr/bin/python3 make_l5_circuit.py [GIT_DIR]

GIT_DIR is a git directory of the original repository (default: the fetch
tool's mirror /work/.mirror/Jieran-S+L5Neuron_RateModel/repo). Its files are
exported to a temporary directory and imported from there; nothing of the
original is copied into ratesim. The output is byte-for-byte reproducible
with the same numpy, scipy and zlib (deflated .npy members, fixed
timestamps; config.json with sorted keys and repr floats).

config.json  debug_config's values, and tsteps and number_timepoints_plasticity
             of a SimpleNetwork made with them.
net.npz      A small network as run_simulation builds one (seed 7, its draw
             order, N = [3, 9, 3, 3], debug_config's tables): w0 (post, pre)
             normalized by max(eigvals.real), r0, and inputs (T, n) =
             distributionInput_negative at 90 degrees for T = 400 steps;
             params = [dt, tau, Ttau, warmup, tau_learn, tau_threshold] =
             [0.01, 0.1, 40, 100, 200, 0.87] (window L = 200).
run_<case>.npz  SimpleNetwork(w0, eye, supralinear, gamma 1, ...).run(inputs,
             r0, simulate_till_converge=False) for one rule, integrator,
             neurons and phase list: rates (T, n) (r_1..r_T), and the weights
             after the steps in `steps` (the run's all_weights[k]), w (len,
             n, n). Cases: <rule>_<euler|rk4> for None, BCM, Slide_BCM, Oja,
             Cov with neurons 'all' and phases No_Alter; and
             BCM_euler_excit_ccalter (excit_only, CC_CS_Alter),
             Slide_BCM_euler_inhib_allalter (inhibit_only, All_Alter),
             Oja_rk4_excit (excit_only, No_Alter).
full.npz     The default model at full size, one direction (0 degrees), as
             run_simulation's first simulation (seed 42): w0 (400 x 400, post,
             pre, normalized), r0, spatial (400) and temporal (2500) with
             inputs[k] = spatial * temporal[k] bit for bit (asserted), and
             SimpleNetwork.run with debug_config (Slide_BCM, Euler, 2500 steps,
             warm-up 500, window 642): rates at the steps in rate_steps, and
             rows w_rows of the weights after the last step, w_last.
"""
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

COMMIT = "5db6801"
FILES = ["Implementation/helper.py", "Implementation/network_model.py", "Implementation/integration_methods.py",
         "Implementation/tools.py", "configs/debug_config.py"]


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


def config(p, nm):
    sn = nm.SimpleNetwork(np.eye(4), W_project=np.eye(4), nonlinearity_rule=p.nonlinearity_rule,
                          integrator=p.integrator, delta_t=p.delta_t, update_function=p.update_function,
                          number_steps_before_learning=p.number_steps_before_learning, gamma=p.gamma, N=p.N,
                          neurons=p.neurons, phase_list=p.phase_list, learning_rule=p.learning_rule, tau=p.tau,
                          Ttau=p.Ttau, tau_learn=p.tau_learn, tau_threshold=p.tau_threshold)
    c = {
        "N": [int(x) for x in p.N], "delta_t": p.delta_t, "tau": p.tau, "Ttau": p.Ttau,
        "number_steps_before_learning": p.number_steps_before_learning, "tau_learn": p.tau_learn,
        "tau_threshold": p.tau_threshold, "learning_rule": p.learning_rule, "neurons": p.neurons,
        "phase_list": [str(x) for x in p.phase_list], "w_target": p.w_target.tolist(),
        "w_compare": p.w_compare.tolist(), "prob": p.prob.tolist(), "w_noise": p.w_noise,
        "nonlinearity_rule": p.nonlinearity_rule, "gamma": p.gamma, "integrator": p.integrator,
        "degree": list(p.degree), "steady_input": list(p.steady_input), "amplitude": list(p.amplitude),
        "spatialF": p.spatialF, "temporalF": p.temporalF, "spatialPhase": p.spatialPhase,
        "sim_number": p.sim_number, "tsteps": sn.tsteps,
        "number_timepoints_plasticity": sn.number_timepoints_plasticity,
    }
    with open("config.json", "w") as f:
        json.dump(c, f, sort_keys=True, indent=1)
        f.write("\n")


DT, TAU, TTAU, WARMUP, TAU_LEARN, TAU_TH = 0.01, 0.1, 40, 100, 200.0, 0.87
N_SMALL = np.array([3, 9, 3, 3])


def network(p, helper):
    np.random.seed(7)
    w_target = p.w_target
    w_initial = np.abs(w_target)
    for i in range(4):
        for j in range(4):
            w_initial[i, j] = abs(np.random.normal(w_target[i, j], scale=0.1 * abs(w_target[i, j])))
    w_initial[-2:, ] *= -1
    n = int(np.sum(N_SMALL))
    r0 = np.random.uniform(low=0, high=1, size=(n,))
    length = np.random.uniform(0, 1, (n,))
    angle = np.pi * np.random.uniform(0, 2, (n,))
    x, y = np.sqrt(length) * np.cos(angle), np.sqrt(length) * np.sin(angle)
    w = helper.generate_connectivity(N_SMALL, p.prob, w_initial, p.w_noise)
    w = w / max(np.linalg.eigvals(w).real)
    T = int((TTAU * TAU) / DT)
    inputs = helper.distributionInput_negative(a_data=x, b_data=y, spatialF=p.spatialF, temporalF=p.temporalF,
                                               orientation=math.radians(90), spatialPhase=p.spatialPhase,
                                               amplitude=p.amplitude, T=T, steady_input=p.steady_input, N=N_SMALL)
    savez("net.npz", N=N_SMALL.astype(np.int64), w0=w, r0=r0, inputs=inputs,
          params=np.array([DT, TAU, TTAU, WARMUP, TAU_LEARN, TAU_TH]))
    return w, r0, inputs


def run(p, nm, name, w0, r0, inputs, rule, integrator, neurons, phase_key):
    sn = nm.SimpleNetwork(w0, W_project=np.eye(len(r0)), nonlinearity_rule="supralinear", integrator=integrator,
                          delta_t=DT, update_function="version_normal", number_steps_before_learning=WARMUP,
                          gamma=1, N=N_SMALL, neurons=neurons, phase_list=p.phase_patterns[phase_key],
                          learning_rule=rule, tau=TAU, Ttau=TTAU, tau_learn=TAU_LEARN, tau_threshold=TAU_TH)
    assert sn.number_timepoints_plasticity == 200
    with np.errstate(all="ignore"):
        act, ws = sn.run(inputs, r0, simulate_till_converge=False)
    act = np.asarray(act)
    T = len(act)
    steps = np.array([0, WARMUP - 1, WARMUP, WARMUP + 1, WARMUP + 2, 197, 198, 199, 200, 250, T - 1], dtype=np.int64)
    w = np.asarray([ws[k] for k in steps])
    assert np.all(np.isfinite(act)) and np.all(np.isfinite(w)), name
    savez(f"run_{name}.npz", rates=act, steps=steps, w=w)


def full(p, nm, helper):
    np.random.seed(42)
    w_initial = np.abs(p.w_target)
    for i in range(4):
        for j in range(4):
            w_initial[i, j] = abs(np.random.normal(p.w_target[i, j], scale=0.1 * abs(p.w_target[i, j])))
    w_initial[-2:, ] *= -1
    n = int(np.sum(p.N))
    r0 = np.random.uniform(low=0, high=1, size=(n,))
    length = np.random.uniform(0, 1, (n,))
    angle = np.pi * np.random.uniform(0, 2, (n,))
    x, y = np.sqrt(length) * np.cos(angle), np.sqrt(length) * np.sin(angle)
    w = helper.generate_connectivity(p.N, p.prob, w_initial, p.w_noise)
    w = w / max(np.linalg.eigvals(w).real)
    sn = nm.SimpleNetwork(w, W_project=np.eye(n), nonlinearity_rule=p.nonlinearity_rule, integrator=p.integrator,
                          delta_t=p.delta_t, update_function=p.update_function,
                          number_steps_before_learning=p.number_steps_before_learning, gamma=p.gamma, N=p.N,
                          neurons=p.neurons, phase_list=p.phase_list, learning_rule=p.learning_rule, tau=p.tau,
                          Ttau=p.Ttau, tau_learn=p.tau_learn, tau_threshold=p.tau_threshold)
    T = sn.tsteps
    inputs = helper.distributionInput_negative(a_data=x, b_data=y, spatialF=p.spatialF, temporalF=p.temporalF,
                                               orientation=math.radians(p.degree[0]), spatialPhase=p.spatialPhase,
                                               amplitude=p.amplitude, T=T, steady_input=p.steady_input, N=p.N)
    spatial = inputs[0].copy()  # cos(0) = 1
    temporal = np.array([np.cos(p.temporalF * t) for t in range(T)])
    assert np.array_equal(spatial[None, :] * temporal[:, None], inputs)
    act, ws = sn.run(inputs, r0, simulate_till_converge=False)
    act = np.asarray(act)
    rate_steps = np.arange(0, T, 50, dtype=np.int64)
    rate_steps = np.append(rate_steps, [T - 2, T - 1]).astype(np.int64)
    w_rows = np.array([0, 44, 45, 100, 319, 320, 365, 366, 399], dtype=np.int64)
    savez("full.npz", w0=w, r0=r0, spatial=spatial, temporal=temporal, rate_steps=rate_steps,
          rates=act[rate_steps], w_rows=w_rows, w_last=np.asarray(ws[-1])[w_rows])


def main():
    git_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/Jieran-S+L5Neuron_RateModel/repo"
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as tmp:
        export(git_dir, tmp)
        sys.path.insert(0, tmp)
        import configs.debug_config as p
        import Implementation.helper as helper
        import Implementation.network_model as nm
        config(p, nm)
        w0, r0, inputs = network(p, helper)
        for rule in ["None", "BCM", "Slide_BCM", "Oja", "Cov"]:
            for integ, short in [("forward_euler", "euler"), ("runge_kutta", "rk4")]:
                run(p, nm, f"{rule}_{short}", w0, r0, inputs, rule, integ, "all", "No_Alter")
        run(p, nm, "BCM_euler_excit_ccalter", w0, r0, inputs, "BCM", "forward_euler", "excit_only", "CC_CS_Alter")
        run(p, nm, "Slide_BCM_euler_inhib_allalter", w0, r0, inputs, "Slide_BCM", "forward_euler", "inhibit_only",
            "All_Alter")
        run(p, nm, "Oja_rk4_excit", w0, r0, inputs, "Oja", "runge_kutta", "excit_only", "No_Alter")
        full(p, nm, helper)


if __name__ == "__main__":
    main()

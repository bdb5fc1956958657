#!/usr/bin/python3
"""Time the original V1 layer-5 model (Jieran-S/L5Neuron_RateModel, commit
5db6801) on this machine: one network of its default configuration
(configs/debug_config.py: 400 units, 2 500 Euler steps) run in its four
directions, as run_simulation's direction loop does, once with the weights
fixed (learning_rule None) and once with its sliding BCM.

    /usr/bin/python3 bench/peers/l5_numpy.py [--rules None,Slide_BCM] [--repeat 3] [GIT_DIR]

GIT_DIR is a git directory of the original repository (default: the fetch
tool's mirror). Its files are exported to a temporary directory and imported
from there; nothing of the original is part of ratesim. Prints one JSON line
per rule: {"peer": "l5-numpy", "rule", "units", "directions", "steps",
"seconds": [per repeat], "median_s", "blas", "openblas_threads"} (the
environment's OPENBLAS_NUM_THREADS: OpenBLAS's threads in a 400-unit
product can cost more than they save, so time it with 1 too). The time
covers SimpleNetwork.run for the four directions (building the network and the inputs is excluded, as
ratesim's BenchmarkCircuitL5 excludes drawing the network). "blas" names the
BLAS and LAPACK libraries numpy loaded: Debian's python3-numpy runs on the
reference BLAS (libblas3) unless OpenBLAS is installed, and the original's
time depends on which; to time it on the reference BLAS with OpenBLAS
installed, run it with
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

COMMIT = "5db6801"
FILES = ["Implementation/helper.py", "Implementation/network_model.py", "Implementation/integration_methods.py",
         "Implementation/tools.py", "configs/debug_config.py"]


def export(git_dir, dest):
    for path in FILES:
        out = os.path.join(dest, path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(subprocess.check_output(["git", "--git-dir", git_dir, "show", f"{COMMIT}:{path}"]))
    for pkg in ["Implementation", "configs"]:
        open(os.path.join(dest, pkg, "__init__.py"), "w").close()


def loaded_blas():
    """The BLAS and LAPACK shared objects mapped into this process."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "blas" in line or "lapack" in line}
    return sorted(p for p in paths if os.path.basename(p).startswith("lib"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", default="None,Slide_BCM")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("git_dir", nargs="?", default="/work/.mirror/Jieran-S+L5Neuron_RateModel/repo")
    a = ap.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as tmp:
        export(a.git_dir, tmp)
        sys.path.insert(0, tmp)
        import configs.debug_config as p
        import Implementation.helper as helper
        import Implementation.network_model as nm
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
        for rule in a.rules.split(","):
            times = []
            for _ in range(a.repeat):
                sn = nm.SimpleNetwork(w, W_project=np.eye(n), nonlinearity_rule=p.nonlinearity_rule,
                                      integrator=p.integrator, delta_t=p.delta_t, update_function=p.update_function,
                                      number_steps_before_learning=p.number_steps_before_learning, gamma=p.gamma,
                                      N=p.N, neurons=p.neurons, phase_list=p.phase_list, learning_rule=rule,
                                      tau=p.tau, Ttau=p.Ttau, tau_learn=p.tau_learn, tau_threshold=p.tau_threshold)
                T = sn.tsteps
                inputs = [helper.distributionInput_negative(a_data=x, b_data=y, spatialF=p.spatialF,
                                                            temporalF=p.temporalF, orientation=math.radians(d),
                                                            spatialPhase=p.spatialPhase, amplitude=p.amplitude, T=T,
                                                            steady_input=p.steady_input, N=p.N) for d in p.degree]
                t0 = time.perf_counter()
                with np.errstate(all="ignore"):
                    for inp in inputs:
                        sn.run(inp, r0, simulate_till_converge=False)
                times.append(time.perf_counter() - t0)
            print(json.dumps({"peer": "l5-numpy", "rule": rule, "units": n, "directions": len(p.degree), "steps": T,
                              "seconds": times, "median_s": statistics.median(times),
                              "blas": loaded_blas(),
                              "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default")}), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Fixtures for sim/stimulus's grating, from the original V1 layer-5 model
(github.com/Jieran-S/L5Neuron_RateModel, commit 5db6801): its
helper.distributionInput_negative run on given positions.

Run from this directory with Debian's python3 (numpy 1.24, matplotlib and
pandas installed, as the original's helper.py imports them):

    /usr/bin/python3 make_l5_grating.py [GIT_DIR]

GIT_DIR is a git directory of the original repository (default: the fetch
tool's mirror /work/.mirror/Jieran-S+L5Neuron_RateModel/repo). Its files are
exported to a temporary directory and imported from there; nothing of the
original is copied into ratesim. The output is byte-for-byte reproducible
with the same numpy and zlib (deflated .npy members, fixed timestamps).

grating_<case>.npz  x, y: positions; N: population sizes; amplitude, steady:
                    per population; params = [spatialF, temporalF,
                    spatialPhase]; degrees: directions; inputs:
                    (directions, T, n), distributionInput_negative of each
                    direction converted with math.radians, as run_simulation
                    calls it; and its pieces, numpy's cosg, sing (of the
                    radians), arg (directions, n), spatial = A*cos(arg)
                    (directions, n) and temporal (T, populations) =
                    cos(temporalF*t), or cos(temporalF) when steady, with
                    inputs == spatial * temporal bit for bit (asserted).
  l5        the positions of run_simulation's first simulation (seed 42,
            debug_config's draw order), its amplitudes and frequencies, T = 10
  steady    random positions, steady input for populations 0 and 2, other
            directions and parameters, T = 3
  temporal  one unit at the origin, A = 1, phase 0, T = 2500: the original's
            temporal factor cos(temporalF * t) for temporalF = 50 (its
            default) and, in temporal2, 0.37
"""
import io
import math
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

COMMIT = "5db6801"


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
    for path in ["Implementation/helper.py", "configs/debug_config.py"]:
        out = os.path.join(dest, path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(subprocess.check_output(["git", "--git-dir", git_dir, "show", f"{COMMIT}:{path}"]))
    for pkg in ["Implementation", "configs"]:
        open(os.path.join(dest, pkg, "__init__.py"), "w").close()


def case(helper, name, x, y, N, amplitude, steady, spatialF, temporalF, spatialPhase, degrees, T):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    inputs = np.asarray([helper.distributionInput_negative(a_data=x, b_data=y, spatialF=spatialF, temporalF=temporalF,
                                                           orientation=math.radians(d), spatialPhase=spatialPhase,
                                                           amplitude=amplitude, T=T, steady_input=steady, N=N)
                         for d in degrees])
    # The pieces, written from l5.md section 3 (not from the original's
    # code), and checked here to rebuild the original's inputs bit for bit.
    g = np.array([math.radians(d) for d in degrees])
    cosg, sing = np.array([np.cos(v) for v in g]), np.array([np.sin(v) for v in g])
    arg = np.array([spatialF * x * c + spatialF * y * s - spatialPhase for c, s in zip(cosg, sing)])
    pop = np.repeat(np.arange(len(N)), N)
    amp = np.asarray(amplitude, dtype=np.float64)[pop]
    spatial = amp * np.cos(arg)
    temporal = np.array([[np.cos(temporalF) if steady[p] > 0.5 else np.cos(temporalF * t) for p in range(len(N))]
                         for t in range(T)])
    rebuilt = spatial[:, None, :] * temporal[None, :, pop]
    assert np.array_equal(rebuilt, inputs), f"{name}: the pieces do not rebuild the original's inputs"
    savez(f"grating_{name}.npz", x=x, y=y,
          N=np.asarray(N, dtype=np.int64), amplitude=np.asarray(amplitude, dtype=np.float64),
          steady=np.asarray(steady, dtype=np.float64),
          params=np.array([spatialF, temporalF, spatialPhase], dtype=np.float64),
          degrees=np.asarray(degrees, dtype=np.float64), inputs=inputs,
          cosg=cosg, sing=sing, arg=arg, spatial=spatial, temporal=temporal)


def main():
    git_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/Jieran-S+L5Neuron_RateModel/repo"
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as tmp:
        export(git_dir, tmp)
        sys.path.insert(0, tmp)
        import configs.debug_config as p
        import Implementation.helper as helper

        # run_simulation's draws up to the positions (l5.md §2, steps 1-3).
        np.random.seed(42)
        for i in range(4):
            for j in range(4):
                np.random.normal(p.w_target[i, j], scale=0.1 * abs(p.w_target[i, j]))
        n = int(np.sum(p.N))
        np.random.uniform(low=0, high=1, size=(n,))
        length = np.random.uniform(0, 1, (n,))
        angle = np.pi * np.random.uniform(0, 2, (n,))
        x, y = np.sqrt(length) * np.cos(angle), np.sqrt(length) * np.sin(angle)
        case(helper, "l5", x, y, list(p.N), p.amplitude, p.steady_input, p.spatialF, p.temporalF,
             p.spatialPhase, p.degree, 10)

        rng = np.random.default_rng(5)
        N = [7, 5, 6, 4]
        r, th = np.sqrt(rng.uniform(size=22)), 2 * np.pi * rng.uniform(size=22)
        case(helper, "steady", r * np.cos(th), r * np.sin(th), N, [3.5, 1.25, 7.0, 0.5], [1, 0, 0.9, 0.2],
             4.5, 0.8, -0.3, [0, 30, 45, 90, 135, 180, 225, 270, 315, 400], 3)

        case(helper, "temporal", np.zeros(1), np.zeros(1), [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0],
             10, 50, 0, [0], 2500)
        case(helper, "temporal2", np.zeros(1), np.zeros(1), [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0],
             10, 0.37, 0, [0], 2500)


if __name__ == "__main__":
    main()

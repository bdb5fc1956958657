#!/usr/bin/python3
"""Known-answer fixtures for sim/connect's conv and patched builders.

Run from this directory with Debian's python3 (python3-torch, python3-numpy):

    /usr/bin/python3 make_fixtures.py

conv_<name>.npz, one per case, hold a float64 kernel (out, in/groups, kh, kw),
bias (out,), a random input x (1, C, H, W), y = torch.nn.functional.conv2d(x,
kernel, bias, stride, padding, dilation, groups), and jac: conv2d without
bias applied to every one-hot input, shape (C*H*W, out, Ho, Wo) -- row k is
the column k of the effective (post, pre) matrix, exactly (each output is a
single tap times 1 plus zeros). params holds
[C, H, W, out, kh, kw, sh, sw, ph, pw, dh, dw, groups].

dist_depd.npz holds, per metric m in (euclidean, circular), the weight
w_m (post, pre) of SPAIC's DistDepd_connect (v0.6.3, Network/Connections.py;
its distance and default weight functions are copied below) with zero_self,
the defaults a = 0.2, b = 0.4, w_amp = -0.1, pos_range = 1, p = 1, for
positions pre_pos (7, 2) and post_pos (5, 2) in [0, 1)^2; post unit 0
shares pre unit 3's position.

patched.npz holds, per case k, params_k = [n_in, n_out, n_sub_models, si,
sj] and owner_k: the (pre, post) = (rows, cols) map of ngc-learn's
PatchedSynapse structure (v3.2.0, _create_multi_patch_synapses), block index
or -1 where the weight is zero, transcribed below without importing
ngc-learn (which needs JAX).
"""
import numpy as np
import torch
import torch.nn.functional as F

CONV = {
    # name: (C, H, W, out, (kh, kw), stride, padding, dilation, groups)
    "basic": (1, 5, 5, 2, (3, 3), (1, 1), (0, 0), (1, 1), 1),
    "stride_pad": (2, 6, 7, 3, (3, 3), (2, 2), (1, 1), (1, 1), 1),
    "nonsquare": (3, 5, 8, 2, (2, 4), (1, 3), (1, 0), (1, 1), 1),
    "dilation": (2, 7, 6, 2, (3, 2), (1, 1), (2, 1), (2, 3), 1),
    "groups": (4, 5, 5, 6, (3, 3), (1, 2), (1, 1), (1, 1), 2),
    "depthwise": (3, 4, 6, 3, (2, 3), (2, 1), (0, 2), (2, 1), 3),
}


def conv_cases(rng):
    for name, (C, H, W, out, k, s, p, d, g) in CONV.items():
        kernel = torch.tensor(rng.standard_normal((out, C // g, *k)))
        bias = torch.tensor(rng.standard_normal(out))
        x = torch.tensor(rng.standard_normal((1, C, H, W)))
        y = F.conv2d(x, kernel, bias, s, p, d, g)
        eye = torch.eye(C * H * W, dtype=torch.float64).reshape(C * H * W, C, H, W)
        jac = F.conv2d(eye, kernel, None, s, p, d, g)
        params = np.array([C, H, W, out, *k, *s, *p, *d, g], dtype=np.int64)
        np.savez(f"conv_{name}.npz", params=params, kernel=kernel.numpy(), bias=bias.numpy(),
                 x=x.numpy(), y=y.numpy(), jac=jac.numpy())


def patched_owner(n_in, n_out, n, si, sj):
    """ngc-learn's _create_multi_patch_synapses, with block indices for the
    weights: blocks written in order (a later block overwrites the overlap),
    then the first and last si rows and sj columns zeroed."""
    di, dj = n_in // n, n_out // n
    R, C = n * di + 2 * si, n * dj + 2 * sj
    owner = -np.ones((R, C), dtype=np.int64)
    for i in range(n):
        owner[i * di:(i + 1) * di + 2 * si, i * dj:(i + 1) * dj + 2 * sj] = i
    if si:
        owner[:si, :] = -1
        owner[-si:, :] = -1
    if sj:
        owner[:, :sj] = -1
        owner[:, -sj:] = -1
    return owner


PATCHED = [  # (n_in, n_out, n_sub_models, si, sj)
    (6, 4, 2, 0, 1), (10, 10, 2, 1, 1), (12, 9, 3, 0, 0), (10, 5, 2, 1, 1),
    (7, 11, 3, 2, 0), (16, 8, 4, 1, 2), (5, 5, 1, 1, 1),
]


def spaic_dist_depd(pre_pos, post_pos, metric, a=0.2, b=0.4, w_amp=-0.1, pos_range=1.0):
    """SPAIC's DistDepd_connect weight with zero_self=True, p=1."""
    pre_pos = torch.tensor(np.expand_dims(pre_pos, axis=0))
    post_pos = torch.tensor(np.expand_dims(post_pos, axis=1))
    if metric == "circular":
        z = torch.maximum(pre_pos, post_pos)
        k = torch.minimum(pre_pos, post_pos)
        dist = torch.norm(torch.minimum(z - k, pos_range + k - z), p=2, dim=-1)
    else:
        dist = torch.norm(pre_pos - post_pos, p=2, dim=-1)
    weights = w_amp * (torch.exp(-dist / a) / a - 0.5 * torch.exp(-dist / b) / b)
    return (weights * (dist != 0).type(weights.dtype)).numpy()


def dist_depd_case(rng):
    pre_pos = rng.random((7, 2))
    post_pos = rng.random((5, 2))
    post_pos[0] = pre_pos[3]
    np.savez("dist_depd.npz", pre_pos=pre_pos, post_pos=post_pos,
             w_euclidean=spaic_dist_depd(pre_pos, post_pos, "euclidean"),
             w_circular=spaic_dist_depd(pre_pos, post_pos, "circular"))


def main():
    rng = np.random.default_rng(14)
    conv_cases(rng)
    dist_depd_case(rng)
    out = {}
    for k, p in enumerate(PATCHED):
        out[f"params_{k}"] = np.array(p, dtype=np.int64)
        out[f"owner_{k}"] = patched_owner(*p)
    np.savez("patched.npz", **out)


if __name__ == "__main__":
    main()

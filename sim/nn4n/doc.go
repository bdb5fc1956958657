// Package nn4n imports models trained with the PyTorch library nn4n (v1.2.0's
// CTRNN) so that ratesim can simulate them: `ratesim import nn4n MODEL -o
// SPEC.yaml` writes a spec and a weights file that `ratesim run` takes as is.
//
// # What it reads
//
//   - An .npz holding nn4n's state dict under its own key names, as
//     np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})
//     writes it: recurrent_layer.input_layer.weight (N, I),
//     recurrent_layer.hidden_layer.weight (N, N), readout_layer.weight (O, N),
//     their .bias vectors when the model has them, and optionally
//     recurrent_layer.alpha (α per unit) and recurrent_layer.hidden_state (a
//     learned initial state). A state dict does not record the activation, dt
//     or tau: they come from flags, else nn4n's defaults (relu, 10, 100), and
//     the import says which were defaulted.
//   - nn4n's own checkpoint (.pt/.pth): torch.save({"model_state_dict": …,
//     "kwargs": …}), or a bare torch.save(model.state_dict()). The zip archive's
//     data.pkl is decoded by a small pickle machine written for this package
//     that never executes code: it understands the opcodes torch writes
//     (protocols 2–5) and a fixed list of callables — OrderedDict, torch's
//     _rebuild_tensor_v2 and _rebuild_parameter, torch's typed storages,
//     numpy's array and scalar reconstruction (nn4n's mask builders hand
//     masks over as numpy arrays) and _codecs.encode (how protocol 2 stores
//     bytes) — each interpreted by Go code. Any other Python object is an
//     error that shows the one-line np.savez command for exporting an NPZ.
//     torch.save keeps a tensor as a view of a storage, and so does the
//     decoder: each storage (data/KEY) is read once, however many tensors
//     view it, and each tensor is its storage offset, sizes and strides —
//     transposed, sliced, stepped and broadcast (stride 0) views, as nn4n's
//     MultiAreaEI masks arrive (int64, transposed), give their logical values
//     in C order; numpy arrays in Fortran order likewise. An offset, size or
//     stride that is negative, overflows or reaches beyond its storage is an
//     error naming the tensor. float32, float64, float16, bfloat16, integer
//     and bool element types are read in either byte order (the byteorder
//     record torch ≥ 2.1 writes; 1.x files have none and are little-endian).
//     The zip layouts of torch 1.6–1.13 and 2.x (the archive's folder name,
//     the records 2.x adds) are described at decodeArchive.
//     From the kwargs come dims (checked against the weights), activation,
//     dt, tau (a number, or one per unit, which becomes α = dt/τ per unit),
//     preact_noise, postact_noise, init_state, and sparsity_masks, ei_masks
//     and plasticity_masks (lists of three, each None or an array shaped
//     (pre, post)); what the kwargs leave out takes nn4n's defaults (sim/NN4N.md). Flags win over kwargs; a --dt or --tau flag also replaces a
//     state dict's alpha.
//
// Malformed files of either kind give an *Error naming the file, where in it
// (state-dict key, kwarg, zip entry, pickle byte offset) and why; nothing in
// this package panics on bad input (FuzzCheckpoint, FuzzPickle, FuzzNPZ), and
// no file can make it allocate much more than the data it actually holds
// (a broadcast view is expanded to at most 2²² elements).
//
// # What it writes
//
// WriteSpec writes SPEC.yaml and SPEC.weights.npz next to it (both
// atomically). The weights file holds the arrays under nn4n's key names, in
// nn4n's (out, in) orientation and the model's own float type; the spec
// refers to each with {file: SPEC.weights.npz, key: NAME}. Masks are stored
// under sparsity_masks.LAYER, ei_masks.LAYER and plasticity_masks.LAYER.
//
// # Differences from running the model in nn4n
//
//   - The weights are used as saved, which is what nn4n's eval() forward
//     does. nn4n re-applies its sparsity and E/I constraints only at the start
//     of each training forward pass, so a model saved right after an optimizer
//     step can break its own masks; the import counts such weights and then
//     leaves those masks out of the spec (they would change the weights), and
//     keeps them in the weights file. Masks the weights obey go into the spec,
//     where applying them changes nothing (array weights are not re-balanced).
//   - Noise: nn4n adds pre- and post-activation noise only in train mode;
//     ratesim adds the kwargs' preact_noise and postact_noise from the first
//     step of every run. Set them to 0 (or import with --preact-noise 0
//     --postact-noise 0) to reproduce nn4n's eval() outputs.
//   - init_state 'keep' (carry the last state across forward calls) becomes
//     a zero initial state; give `ratesim run --init-state V0.npy` or
//     init_state: {from: RUN_DIR} in the spec to continue a run. A nonzero
//     learned recurrent_layer.hidden_state becomes the spec's init_state.
//   - Arithmetic: ratesim sums each unit's drive in one fixed order
//     (ARCHITECTURE.md, the numeric contract) and adds the two hidden biases on the host; torch sums in
//     its own order. Results agree to float32 rounding — the fixtures in
//     testdata (generated by testdata/gen_fixtures.py with a PyTorch loop)
//     are reproduced to relative errors below 1e-6 over 300 steps — not
//     bit for bit.
package nn4n

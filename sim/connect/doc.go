// Package connect builds the connections of a rate network: which synapses
// exist between two groups of units and their initial weights. It has two
// families of builders.
//
// # Connection builders
//
// A Connection (Full, OneToOne, FixedProbability, Density, FixedInDegree,
// FixedOutDegree, Conv, Patched, Distance; New makes one from its type
// name, for a spec's connections: [{from, to, type, …}] to decode into) is
// the parameters of one connection type. Build(pre, post, random) returns a
// *Matrix between a presynaptic and a postsynaptic Group (a shape,
// row-major: a (C, H, W) group has flat index c·H·W + h·W + w), and Check
// reports the same parameter errors without drawing. Every error in the
// parameters is a *ParamError naming the parameter as a spec names it.
//
// A Matrix is (post, pre): row i holds the synapses onto post unit i, as
// SPAIC stores its weights. In that orientation a row is one postsynaptic
// sum, so a CSR row in ascending column order is the contract's sum over
// presynaptic index ascending, and sparse execution can give the dense
// product's bits. (The backend's Drive is (pre rows) × (post cols) and
// nn4n and ngc-learn keep (pre, post): use Transpose.) A Matrix is dense or
// CSR (columns strictly ascending); the structural builders return CSR, Full
// returns dense, and AutoForm / Sparse choose by density (CSR below
// SparseBelow = 0.25). Bias, when a connection has one, is per post unit.
//
// Builds are pure functions of the parameters, the groups and a Random:
// (stream, index) → number, with each draw at a fixed, documented place
// (the weight and the synapse draw of pair (post i, pre j) at index
// i·n_pre + j of StreamWeight and StreamSynapse), so adding or removing a
// synapse never moves the weights of the others. HostRandom draws them from
// the host Philox streams of package backend; a spec gives connection c the
// streams from spec.StreamConnections + c·NumConnStreams on.
//
// Weights come from an Init (normal, uniform, constant, zero, fan_in_uniform,
// fan_in_normal, kaiming_uniform, array); each builder documents its
// default. A Clamp (w_min, w_max) bounds existing synapses only.
//
// What differs from SPAIC (v0.6.3) and ngc-learn (v3.2.0), on purpose (see
// the SPAIC v0.6.3 and ngc-learn v3.2.0 sources for what they do; each builder's doc says
// more):
//   - The diagonal: SPAIC's random connection never connects pre i to post
//     i, even between different groups. Here leaving out self-pairs is the
//     choice ExcludeSelf, for every random structure.
//   - SPAIC's random weights are the uniform draws that chose the synapse
//     (U(0, p)); here weight and structure are independent draws.
//   - SPAIC's "sparse" is a Bernoulli mask (fixed_probability here) and
//     its "sparse_sparse" an exact count with U(0, w_std) weights; density
//     here is the exact count, round(density · allowed pairs), with the
//     usual weight init.
//   - Clamping leaves absent synapses absent (SPAIC's clamp turns them
//     into w_min when w_min > 0), and it applies to conv too (SPAIC never
//     clamps conv).
//   - Conv sizes its output with dilation (SPAIC's check ignores it and
//     refuses every dilation > 1), its kernel is (out, in/groups, kh, kw)
//     as conv2d's, and its default init is torch's Conv2d
//     (kaiming_uniform, a = √5), not SPAIC's N(0.05, 0.05²).
//   - Patched refuses sizes that are not n·block + 2·stride (ngc-learn
//     accepts them and then mis-sizes its compartments), and its structure
//     is the matrix's support (ngc-learn's w_masks is a copy of the
//     weights when stride_shape[1] ≠ 0).
//   - Draws come from the Random, not numpy's, torch's or JAX's generators:
//     the same seed gives the same network in ratesim on every machine, not
//     the same numbers as SPAIC or ngc-learn.
//
// # nn4n mask builders
//
// MultiArea, MultiAreaEI, RandomInput and MultiIO are nn4n's mask module.
// Such a Builder returns a *Masks holding one mask per layer in the
// weights' orientation (out, in) = (post, pre): Input is N×I, Hidden N×N,
// Readout O×N, row-major. (nn4n hands its masks to a CTRNN as (pre, post);
// use Transpose to get that orientation, e.g. to save them for nn4n.) An
// entry is 0 where there is no synapse and ±1 where there is one; for
// MultiAreaEI the sign of Hidden and Readout entries is the sign of the
// presynaptic unit (+1 excitatory, −1 inhibitory), as nn4n's signed masks
// are. Input entries are never signed: inputs are not units.
//
// Their randomness comes from a Source, a pure function of (stream, index)
// giving uniform numbers in (0, 1). Every random decision has its own fixed
// (stream, index) — the Bernoulli draw of hidden synapse (post i, pre j) is
// (StreamHidden, i·N+j) — so the masks depend only on the Source and the
// parameters, not on the order things are built in. ratesim's sim/spec
// package passes its seeded host Philox streams, which makes masks
// reproducible from the spec's seed on every machine.
//
// Differences from nn4n (v1.2.0), on purpose:
//   - nn4n's MultiAreaEI, as published, never calls the method that signs
//     its masks and removes the inter-area connections, so
//     inter_area_connections and inh_readout silently do nothing there.
//     Here they do what nn4n documents.
//   - Parameters are checked and reported as *ParamError (parameter name and
//     reason) instead of assertions; MultiIO's tables must hold only 0 and 1
//     (nn4n leaves that as a TODO).
//   - Draws come from the Source, not numpy's global generator, so the same
//     seed gives the same masks in ratesim but not the same masks as nn4n.
package connect

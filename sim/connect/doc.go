// Package connect builds the connections of a rate network: which synapses
// exist and which presynaptic units are excitatory or inhibitory. Today it
// holds the builders of nn4n's mask module — MultiArea, MultiAreaEI,
// RandomInput and MultiIO; it is also the home of the connection builders
// to come (SPAIC's full, one-to-one, probability, sparse, conv, distance
// links, ngc-learn's patched masks, synaptic delays; see ARCHITECTURE.md).
//
// A builder returns a *Masks holding one mask per layer in the weights'
// orientation (out, in) = (post, pre): Input is N×I, Hidden N×N, Readout
// O×N, row-major. (nn4n hands its masks to a CTRNN as (pre, post); use
// Transpose to get that orientation, e.g. to save them for nn4n.) An entry is
// 0 where there is no synapse and ±1 where there is one; for MultiAreaEI the
// sign of Hidden and Readout entries is the sign of the presynaptic unit
// (+1 excitatory, −1 inhibitory), as nn4n's signed masks are. Input entries
// are never signed: inputs are not units.
//
// Randomness comes from a Source, a pure function of (stream, index) giving
// uniform numbers in (0, 1). Every random decision has its own fixed
// (stream, index) — the Bernoulli draw of hidden synapse (post i, pre j) is
// (StreamHidden, i·N+j) — so the masks depend only on the Source and the
// parameters, not on the order things are built in. ratesim's sim/spec package
// passes its seeded host Philox streams, which makes masks reproducible from
// the spec's seed on every machine.
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

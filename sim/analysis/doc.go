// Package analysis computes statistics of networks and of runs: the
// structure of a built network (areas, E/I populations, block densities,
// weight sums, the eigenvalues and spectral radius with gonum), which
// `ratesim inspect` prints, and the layer-5 model's selectivity analysis
// (orientation and direction selectivity per unit and population, its
// summary tables and tuning loss; selectivity.go), computed in the
// original's order so that its numbers come out bit for bit.
package analysis

// Package analysis computes statistics of networks and, to come, of runs:
// today the structure of a built network (areas, E/I populations, block
// densities, weight sums, the eigenvalues and spectral radius with gonum), which `ratesim
// inspect` prints; the selectivity metrics of the layer-5 model
// (orientation and direction selectivity) and sweep summaries belong here.
package analysis

// Package plot draws the figures of ratesim with gonum.org/v1/plot: every
// panel has axes with ticks and labels (time in ms), heat maps have a colour
// bar with values, traces a legend. It knows nothing of specs or runs: it
// takes the numbers to draw, already aggregated (Bins).
//
//   - Run (rates.png): trial 0's rates as a heat map (recorded units down,
//     time across, mean of each time bin) with its colour bar, the traces
//     of a few units, the outputs and the input, each a mean line over time
//     bins with the bin's min–max envelope shaded, legends to the right.
//   - Weights (weights.png): a plastic run's initial and final matrices
//     side by side on one colour scale, weight traces over time and the
//     mean weight of each population pair.
//   - Structure (ratesim inspect --plot): the hidden weight matrix with its
//     area and E/I boundaries, and the eigenvalues of W_hidden in the
//     complex plane with the unit circle.
//   - Circuit (ratesim run --example l5, CircuitPictures): the layer-5
//     model's pictures, each population (CS, CC warm; PV, SST cool) in one
//     colour throughout. l5_weights: the mean weight of each population pair
//     pre → post, initial, final (mean ± std over the directions) and
//     target; l5_selectivity: OS, DS and OS_p per population before and
//     after learning, mean ± std over the reliable units; l5_activity: a
//     panel per direction, each population's mean rate over time with a
//     ± std band over its units; l5_weights_time: a panel per postsynaptic
//     population, the pairs' mean weights over time (mean over directions)
//     with dashed targets; l5_rates: box plots per population and
//     direction of the units' mean rates over the analysis window. What is
//     missing or not finite is left out and named in the picture.
//
// Every figure has a fixed size, whatever the run: RunSize, WeightsSize,
// StructureSize and the Circuit…Size ones, in pixels for PNG (at DPI dots
// per inch) and in points for SVG and PDF (pixels × 72/DPI). Long runs are aggregated into at most
// MaxBins time bins (mean, min and max), never thinned by sampling, so
// nothing is missed and nothing aliases.
package plot

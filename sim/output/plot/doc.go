// Package plot draws the pictures of a run: rates.png (a raster of trial
// 0's rates above its output traces) and weights.png (a plastic run's
// initial and final weight matrices and weight traces). It knows nothing of
// specs or runs: it takes the numbers to draw.
package plot

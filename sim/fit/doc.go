// Package fit is the room for fitting (not built yet; see ARCHITECTURE.md):
// optimizers such as CMA-ES that evaluate each generation of parameter sets
// as one batched sweep and fit a model to recorded data.
package fit

// Package fit fits spec fields to an objective: a fit spec (File) names a
// base spec (as a sweep's base), parameters (spec paths with bounds and a
// linear or log scale), an objective (one sweep metric, e.g. mse of the
// outputs against a target .npy, minimized), an optimizer (cmaes,
// cmaes-gonum, random or lhs), a budget of evaluations and a population (generation size).
//
// Every generation is evaluated as one sweep (package sweep) whose points
// are the population, zipped as one axis per parameter and sized as one
// chunk: the population runs as Population instances of one batched
// backend program, never point by point, and each point's loss has the
// bits `ratesim run` of that point's spec gives (the sweep's invariance).
//
// The optimizers search the unit cube, one coordinate per parameter,
// mapped to [low, high] by Parameter.Value (linear, or linear in log for
// scale: log). CMA-ES searches an unbounded space folded into the cube by
// reflection at its faces (Fold), starting at its centre with step 0.3;
// random draws uniformly, lhs draws each generation as a Latin hypercube.
// All are seeded by the fit's seed.
//
// Write writes the history (history.parquet and history.csv: evaluation,
// generation, the parameters' values, loss, status), best.yaml (the best
// point's full spec, runnable with `ratesim run`), fit.png (the loss of
// every evaluation and the running best) and meta.json.
//
// Two CMA-ES: cmaes (the default) is Hansen's (μ/μ_w, λ) CMA-ES written
// here (cmaes.go, with the constants of gonum's optimize.CmaEsChol);
// cmaes-gonum drives gonum's optimize.CmaEsChol itself, a generation at a
// time through its Method interface (cmaes_gonum.go). Both batch every
// generation; gonum's converges far more slowly on these problems, for
// the reason cmaes_gonum.go gives with its measurements.
//
// A fit over a circuit model (circuit: NAME, or a base that is a circuit
// file; circuit.go) fits the circuit's fields (parameters by field path,
// key.key[index]; factor_of makes one parameter a factor of another's
// value, L5's τ_θ = fac·τ_learn) to the layer-5 model's tuning loss
// (objective {metric: l5_loss, formula: corrected | l5}; sim.CircuitLoss).
// Its generations run through sim.SimulateCircuits: points that differ only
// in circuit.BatchFields are the instances of one program per network.
//
// A fit run with Options.Dir keeps DIR/history.csv after every generation
// and resumes from it by replay: the optimizer runs again from its seed,
// taking the recorded losses of the generations it finds (their points
// checked bit for bit) instead of running them, so a fit killed and rerun
// ends as one never stopped.
package fit

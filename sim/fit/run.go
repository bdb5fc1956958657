package fit

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/sweep"
)

// Options are the run-time choices of a fit.
type Options struct {
	// Backend overrides the base spec's backend (auto, cpu, …).
	Backend string
	// Log receives one line per generation (nil: none).
	Log io.Writer
	// Dir, when set, is where the history is kept as the fit goes:
	// DIR/history.csv is rewritten after every generation, beside
	// DIR/fit.sha256 (the fit file's hash). A fit into a directory with a
	// history of the same fit resumes: the optimizer runs again from its
	// seed and takes the recorded generations' losses instead of running
	// them (the points must come out the same to the bit, else it stops),
	// so a resumed fit ends as an uninterrupted one. A history of another
	// fit is refused. The hash covers the fit file's text, not the files
	// it names (base, target).
	Dir string
}

// Evaluation is one evaluated point of the fit.
type Evaluation struct {
	Index      int // 0-based, in the order the points were run
	Generation int
	Values     []float64 // the parameters' values, in the order of parameters
	Loss       float64   // the objective; NaN when the point went non-finite
	Status     string    // the sweep row's status: ok, or why there is no loss
	// Spec is the point's whole spec (or circuit) as YAML, runnable with
	// `ratesim run`.
	Spec []byte
}

// Result is a finished fit.
type Result struct {
	History     []Evaluation
	Best        int // index into History of the lowest loss
	Generations int
	// Programs counts the backend programs run: one per generation when
	// every generation ran as one batched program.
	Programs int
	// Replayed counts the generations taken from DIR's history on resume.
	Replayed int
	Backend  string
	Wall     time.Duration
}

// Run fits ft: every generation of Population points is evaluated as one
// sweep (one batched program), until Budget evaluations are used (whole
// generations: ⌊Budget/Population⌋ of them) or CMA-ES converges.
//
// CMA-ES (cmaes.go) searches an unbounded space whose coordinates
// are folded into [0, 1] by Fold and mapped to the bounds by
// Parameter.Value; it starts at the centre 0.5 with step size 0.3. random
// draws each coordinate uniformly in [0, 1]; lhs draws each generation as
// a Latin hypercube (one point in each of Population strata per
// parameter). All are seeded by the fit's seed alone.
func Run(ctx context.Context, ft *Fit, opt Options) (*Result, error) {
	start := time.Now()
	res := &Result{Best: -1}
	gens := ft.Spec.Budget / ft.Spec.Population
	var replay []generation
	if opt.Dir != "" {
		var err error
		if replay, err = readHistory(opt.Dir, ft); err != nil {
			return nil, err
		}
		if len(replay) > 0 && opt.Log != nil {
			fmt.Fprintf(opt.Log, "resuming: %d generation(s) in %s replayed from its history\n", len(replay), opt.Dir)
		}
	}
	eval := func(units [][]float64) ([]float64, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		points := make([][]float64, len(units))
		for k, u := range units {
			points[k] = make([]float64, len(u))
			for i, p := range ft.Spec.Parameters {
				points[k][i] = p.Value(u[i])
			}
		}
		g := res.Generations
		var losses []float64
		var status []string
		var specs [][]byte
		programs := 0
		var err error
		replayed := g < len(replay)
		if replayed {
			// Replayed: the optimizer drew this generation again from the
			// same seed and losses; its points must be the recorded ones.
			if err := replay[g].check(points); err != nil {
				return nil, fmt.Errorf("%s: cannot resume from %s: generation %d: %v", ft.File, opt.Dir, g, err)
			}
			res.Replayed++
		}
		switch {
		case ft.circuit != nil:
			var cs []*spec.Circuit
			if cs, specs, err = ft.circuit.circuits(ft, points); err != nil {
				return nil, err
			}
			if replayed {
				losses, status = slices.Clone(replay[g].loss), replay[g].status
				if res.Backend == "" {
					if b, _, err := sim.CircuitBackend(cs[0]); err == nil {
						res.Backend = b.Name()
					}
				}
				break
			}
			var name string
			if losses, status, programs, name, err = ft.circuit.evaluate(ctx, ft, cs, opt.Backend, opt.Log); err != nil {
				return nil, err
			}
			res.Programs += programs
			res.Backend = name
		default:
			sw, err := ft.Sweep(points)
			if err != nil {
				return nil, err
			}
			var rows []*sweep.Row
			if replayed {
				for k, p := range sw.Points {
					rows = append(rows, &sweep.Row{Point: p, Status: replay[g].status[k], Metrics: []float64{replay[g].loss[k]}})
				}
				if res.Backend == "" {
					res.Backend = sw.BackendName(sweep.Options{Backend: opt.Backend})
				}
			} else {
				r, err := sweep.Run(ctx, sw, sweep.Options{Backend: opt.Backend})
				if err != nil {
					return nil, err
				}
				rows, programs = r.Rows, len(r.Chunks)
				res.Programs += programs
				res.Backend = r.Backend
			}
			for _, row := range rows {
				loss := math.NaN()
				if row.Status == "ok" {
					loss = row.Metrics[0]
				}
				losses, status, specs = append(losses, loss), append(status, row.Status), append(specs, row.Point.YAML)
			}
		}
		for k := range points {
			loss := losses[k]
			if status[k] != "ok" {
				loss = math.NaN()
			}
			losses[k] = loss
			e := Evaluation{Index: len(res.History), Generation: g, Values: points[k], Loss: loss, Status: status[k], Spec: specs[k]}
			if !math.IsNaN(loss) && (res.Best < 0 || loss < res.History[res.Best].Loss) {
				res.Best = e.Index
			}
			res.History = append(res.History, e)
		}
		if opt.Dir != "" && !replayed {
			if err := writeHistory(opt.Dir, ft, res); err != nil {
				return nil, err
			}
		}
		if opt.Log != nil && !replayed {
			best := math.NaN()
			if res.Best >= 0 {
				best = res.History[res.Best].Loss
			}
			fmt.Fprintf(opt.Log, "generation %d/%d: %d points in %d program(s), best loss so far %.6g\n",
				g+1, gens, len(units), programs, best)
		}
		res.Generations++
		return losses, nil
	}
	var err error
	switch ft.Spec.Optimizer {
	case "cmaes":
		err = runCMAES(ft, gens, eval)
	case "cmaes-gonum":
		err = runGonumCMAES(ft, gens, eval)
	default:
		rng := rand.New(rand.NewPCG(ft.Seed, 0x66697421))
		for g := 0; g < gens && err == nil; g++ {
			_, err = eval(sample(rng, ft.Spec.Optimizer, ft.Spec.Population, len(ft.Spec.Parameters)))
		}
	}
	if err != nil {
		return nil, err
	}
	if res.Best < 0 {
		return nil, fmt.Errorf("%s: no evaluation gave a finite loss", ft.File)
	}
	res.Wall = time.Since(start)
	return res, nil
}

// sample is one generation of n unit points in d dimensions: uniform, or a
// Latin hypercube (each coordinate's n values in n equal strata, one each,
// in random order).
func sample(rng *rand.Rand, kind string, n, d int) [][]float64 {
	out := make([][]float64, n)
	for k := range out {
		out[k] = make([]float64, d)
	}
	for i := 0; i < d; i++ {
		perm := rng.Perm(n)
		for k := range out {
			u := rng.Float64()
			if kind == "lhs" {
				u = (float64(perm[k]) + u) / float64(n)
			}
			out[k][i] = u
		}
	}
	return out
}

// runCMAES runs CMA-ES a generation at a time: the population is sampled,
// evaluated together as one batched sweep, and the distribution updated.
func runCMAES(ft *Fit, gens int, eval func([][]float64) ([]float64, error)) error {
	d, pop := len(ft.Spec.Parameters), ft.Spec.Population
	mean := make([]float64, d)
	for i := range mean {
		mean[i] = 0.5
	}
	c := newCMA(mean, 0.3, pop, rand.New(rand.NewPCG(ft.Seed, 0x636d6165)))
	for g := 0; g < gens; g++ {
		zs := c.ask()
		units := make([][]float64, pop)
		for k, z := range zs {
			units[k] = make([]float64, d)
			for i, x := range z {
				units[k][i] = Fold(x)
			}
		}
		losses, err := eval(units)
		if err != nil {
			return err
		}
		if !c.tell(zs, losses) {
			return nil // converged: the distribution has collapsed
		}
	}
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/spec"
)

// readCircuit returns the circuit a command was given: the file pos[0]
// when its top level has circuit:, else (no file) the built-in circuit
// named example. ok is false when the input is not a circuit (a spec, or
// a file that cannot be read: spec.Load reports that).
func readCircuit(pos []string, example string) (c *spec.Circuit, source string, ok bool, err error) {
	switch {
	case len(pos) == 1:
		data, rerr := os.ReadFile(pos[0])
		if rerr != nil || !spec.IsCircuit(data) {
			return nil, "", false, nil
		}
		c, err = spec.ParseCircuit(pos[0], data)
		return c, pos[0], true, err
	case len(pos) == 0 && example != "":
		data, rerr := spec.BuiltInCircuits.Read(example)
		if rerr != nil {
			return nil, "", false, nil
		}
		c, err = spec.ParseCircuit(example+".yaml", data)
		return c, "built-in example " + example, true, err
	}
	return nil, "", false, nil
}

// loadCircuit returns the circuit `ratesim run` was given (readCircuit)
// with the run flags that apply to it (backend, seed, precision, steps);
// ok is false for a spec.
func loadCircuit(fs *flag.FlagSet, rf *runFlags, pos []string) (c *spec.Circuit, source string, ok bool, err error) {
	c, source, ok, err = readCircuit(pos, *rf.example)
	if !ok || err != nil {
		return nil, source, ok, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range []string{"trials", "input", "init-state"} {
		if set[name] {
			return nil, source, true, usageError{fmt.Errorf("--%s is for specs; a circuit runs one trial per direction from its own initial rates", name)}
		}
	}
	if set["backend"] {
		c.Backend = *rf.backendName
	}
	if set["seed"] {
		c.Seed = *rf.seed
	}
	if set["precision"] {
		if _, perr := backend.ParsePrecision(*rf.precision); perr != nil {
			return nil, source, true, usageError{fmt.Errorf("--precision: %w", perr)}
		}
		c.Precision = *rf.precision
	}
	if set["steps"] {
		if *rf.steps < 1 {
			return nil, source, true, usageError{fmt.Errorf("--steps must be ≥ 1, got %d", *rf.steps)}
		}
		c.Steps = *rf.steps
	}
	return c, source, true, nil
}

// runCircuit is `ratesim run` for a circuit: simulate every network in
// every direction, print the selectivity summary, write the tables,
// result.npz, meta.json and the pictures.
func runCircuit(ctx context.Context, c *spec.Circuit, source, out, plotFormat string, quiet bool, stdout, stderr io.Writer) error {
	b, note, err := sim.CircuitBackend(c)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(stderr, "ratesim: %s\n", note)
	}
	if out == "" {
		out = filepath.Join("ratesim-out", c.Name)
	}
	st, err := output.Begin(out, output.Hooks{})
	if err != nil {
		return err
	}
	defer st.Close()
	var progress io.Writer
	if f, ok := stderr.(*os.File); ok && !quiet && output.IsTerminal(f) {
		progress = stderr
	}
	fmt.Fprintf(stderr, "ratesim: running %s: circuit %s, %d units in %d populations, %d directions × %d steps × %d network(s), %s, backend %s\n",
		source, c.Circuit, c.Units(), len(c.Populations), len(c.Stimulus.Directions), c.Steps, c.Networks, c.Precision, b.Name())
	res, err := sim.SimulateCircuit(ctx, c, b, progress)
	if err != nil {
		return err
	}
	files, err := sim.WriteCircuit(st, c, res, sim.FullVersion(), plotFormat)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ran on %s in %.3g s\n", res.Backend, res.Wall.Seconds())
	sim.PrintCircuitSummary(stdout, res)
	fmt.Fprintf(stdout, "results: %s (rates, initial_weights, final_weights, block_means, x, y, directions, offsets)\n", files.Result)
	for _, t := range files.Tables {
		fmt.Fprintf(stdout, "table:   %s\n", t)
	}
	for _, p := range files.Pictures {
		fmt.Fprintf(stdout, "picture: %s\n", p)
	}
	fmt.Fprintf(stdout, "meta:    %s\n", files.Meta)
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ratesim/ratesim/sim/fit"
)

const fitSynopsis = `fit [examples [NAME]] [FIT.yaml] [flags]

  ratesim fit FIT.yaml [--out DIR] [--backend B] [--quiet]   fit, one batched program per generation; DIR/history.parquet (.csv), best.yaml, fit.png, meta.json; rerunning into DIR resumes
  ratesim fit --example ctrnn_tau [--out DIR]                run a built-in example fit (it writes its target into DIR first)
  ratesim fit examples [NAME]                                list the built-in example fits, or print one`

// cmdFit runs `ratesim fit`.
func cmdFit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "examples" {
		if len(args) == 1 {
			for _, n := range fit.Examples() {
				fmt.Fprintln(stdout, n)
			}
			return nil
		}
		data, err := fit.Example(args[1])
		if err != nil {
			return err
		}
		_, err = stdout.Write(data)
		return err
	}
	fs := newFlags("fit", fitSynopsis, stderr)
	example := fs.String("example", "", "run a built-in example fit instead of FIT.yaml (see ratesim fit examples)")
	out := fs.String("out", "", "output directory (default ratesim-fit/NAME)")
	backendName := fs.String("backend", "", "backend: auto, cpu (cuda in CUDA builds); overrides the base spec")
	quiet := fs.Bool("quiet", false, "no line per generation")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	var ft *fit.Fit
	name := *example
	switch {
	case len(pos) == 1 && *example == "":
		name = strings.TrimSuffix(filepath.Base(pos[0]), filepath.Ext(pos[0]))
	case len(pos) == 0 && *example != "":
		if _, err := fit.Example(*example); err != nil {
			return err
		}
	default:
		return usageError{fmt.Errorf("expected one FIT file or --example NAME")}
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("ratesim-fit", name)
	}
	if *example != "" {
		ft, err = fit.PrepareExample(ctx, *example, dir, *backendName)
	} else {
		ft, err = fit.Load(pos[0])
	}
	if err != nil {
		return err
	}
	opt := fit.Options{Backend: *backendName, Dir: dir}
	if !*quiet {
		opt.Log = stderr
	}
	res, err := fit.Run(ctx, ft, opt)
	if err != nil {
		return err
	}
	if err := fit.Write(dir, ft, res); err != nil {
		return err
	}
	best := res.History[res.Best]
	if res.Replayed > 0 {
		fmt.Fprintf(stdout, "resumed: %d generations replayed from %s\n", res.Replayed, filepath.Join(dir, "history.csv"))
	}
	fmt.Fprintf(stdout, "%s: %d evaluations in %d generations of %d, %d batched programs on %s, %.3g s\n",
		ft.File, len(res.History), res.Generations, ft.Spec.Population, res.Programs, res.Backend, res.Wall.Seconds())
	fmt.Fprintf(stdout, "best: evaluation %d, loss %.6g:", best.Index, best.Loss)
	for i, p := range ft.Spec.Parameters {
		fmt.Fprintf(stdout, " %s=%.6g", p.Path, best.Values[i])
		if p.FactorOf != "" {
			fmt.Fprintf(stdout, " (× %s = %.6g)", p.FactorOf, ft.FieldValue(best.Values, i))
		}
	}
	fmt.Fprintln(stdout)
	for _, f := range []string{"history.parquet", "history.csv", "best.yaml", "fit.png", "meta.json"} {
		fmt.Fprintf(stdout, "  %s\n", filepath.Join(dir, f))
	}
	return nil
}

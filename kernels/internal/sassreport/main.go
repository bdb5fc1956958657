// Command sassreport is the static kernel report of kernels/gen.sh -report
// (make kernels-report): for every module kernels/ptx/NAME.ptx and every
// target architecture it runs ptxas -v (registers, shared memory, spills)
// and cuobjdump -sass on the cubin, finds each kernel's loops in the
// machine code (backward branches) and prints the instruction mix of its
// hot loops: the contract's rounded FP operations (FADD, FMUL, DADD, DMUL)
// against all instructions. See HotLoops for which loops count.
//
// It fails (exit status 1) when a kernel spills, when its hot loops hold
// more fused multiply-adds than the baseline allows (none for the step,
// persistent and readout kernels), or when a kernel's hot-loop FP fraction is below the
// one the baseline file records for it (kernels/report-baseline.json):
// the kernels' issue efficiency may rise, never silently fall. -write
// rewrites the baseline from the kernels as they are.
//
//	go run ./kernels/internal/sassreport -dir kernels [-write]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// A Row is the report of one kernel on one architecture.
type Row struct {
	Arch, Kernel string
	Res          Resources
	Loops, Inner int
	Hot          []Loop
	HotMix       Mix
}

// Baseline holds, per architecture and kernel, what the report accepts.
type Baseline map[string]map[string]Limit

// A Limit is one kernel's floor and ceiling.
type Limit struct {
	FP  float64 `json:"fp"`  // lowest hot-loop FP fraction
	FMA int     `json:"fma"` // most fused multiply-adds in the hot loops (the plasticity update's correctly rounded division and square root use them, exactly)
}

func main() {
	dir := flag.String("dir", "kernels", "the kernels directory (its ptx/ holds the modules)")
	archs := flag.String("arch", "sm_90,sm_80", "target architectures, comma-separated")
	base := flag.String("baseline", "", "the baseline file (default DIR/report-baseline.json)")
	write := flag.Bool("write", false, "write the baseline from this report instead of checking it")
	verbose := flag.Bool("v", false, "list every innermost loop of every kernel")
	flag.Parse()
	if *base == "" {
		*base = filepath.Join(*dir, "report-baseline.json")
	}
	rows, err := collect(*dir, strings.Split(*archs, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sassreport:", err)
		os.Exit(1)
	}
	printRows(os.Stdout, rows, *verbose)
	if *write {
		if err := writeBaseline(*base, rows); err != nil {
			fmt.Fprintln(os.Stderr, "sassreport:", err)
			os.Exit(1)
		}
		fmt.Printf("sassreport: wrote %s\n", *base)
		return
	}
	var bl Baseline
	if data, err := os.ReadFile(*base); err != nil {
		fmt.Fprintln(os.Stderr, "sassreport:", err)
		os.Exit(1)
	} else if err := json.Unmarshal(data, &bl); err != nil {
		fmt.Fprintf(os.Stderr, "sassreport: %s: %v\n", *base, err)
		os.Exit(1)
	}
	if problems := check(rows, bl); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "sassreport:", p)
		}
		os.Exit(1)
	}
	fmt.Println("sassreport: no spills; hot-loop FMA and FP fractions within the baseline")
}

// collect compiles every module for every architecture and reports each
// kernel.
func collect(dir string, archs []string) ([]Row, error) {
	ptxs, err := filepath.Glob(filepath.Join(dir, "ptx", "*.ptx"))
	if err != nil {
		return nil, err
	}
	if len(ptxs) == 0 {
		return nil, fmt.Errorf("no PTX in %s", filepath.Join(dir, "ptx"))
	}
	tmp, err := os.MkdirTemp("", "sassreport")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var rows []Row
	for _, arch := range archs {
		for _, ptx := range ptxs {
			cubin := filepath.Join(tmp, strings.TrimSuffix(filepath.Base(ptx), ".ptx")+"."+arch+".cubin")
			info, err := run("ptxas", "-arch="+arch, "-v", "-o", cubin, ptx)
			if err != nil {
				return nil, err
			}
			res, order, err := ParsePtxasInfo(bytes.NewReader(info))
			if err != nil {
				return nil, err
			}
			sass, err := run("cuobjdump", "-sass", cubin)
			if err != nil {
				return nil, err
			}
			fs, err := ParseSASS(bytes.NewReader(sass))
			if err != nil {
				return nil, err
			}
			code := map[string]Function{}
			for _, f := range fs {
				code[f.Name] = f
			}
			sort.Strings(order)
			for _, k := range order {
				f, ok := code[k]
				if !ok {
					return nil, fmt.Errorf("%s: cuobjdump printed no code for %s", cubin, k)
				}
				r := Row{Arch: arch, Kernel: k, Res: *res[k]}
				ls := Loops(f)
				r.Loops = len(ls)
				for _, l := range ls {
					if l.Innermost {
						r.Inner++
					}
				}
				r.Hot = HotLoops(f)
				r.HotMix = HotMix(r.Hot)
				rows = append(rows, r)
			}
		}
	}
	return rows, nil
}

func run(name string, args ...string) ([]byte, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	// ptxas -v writes its report to standard error.
	return append(out.Bytes(), errb.Bytes()...), nil
}

func printRows(w io.Writer, rows []Row, verbose bool) {
	fmt.Fprintf(w, "%-6s %-16s %5s %6s %5s %6s %6s %5s %4s %9s %6s %3s\n",
		"arch", "kernel", "regs", "smem", "stack", "spillS", "spillL", "loops", "hot", "FP/instr", "FPfrac", "FMA")
	for _, r := range rows {
		fmt.Fprintf(w, "%-6s %-16s %5d %6d %5d %6d %6d %5d %4d %4d/%-4d %6.3f %3d\n",
			r.Arch, r.Kernel, r.Res.Registers, r.Res.Shared, r.Res.Stack, r.Res.SpillStores, r.Res.SpillLoads,
			r.Loops, len(r.Hot), r.HotMix.FP, r.HotMix.All, r.HotMix.FPFraction(), r.HotMix.FMA)
		if verbose {
			for _, l := range r.Hot {
				fmt.Fprintf(w, "       hot loop %#x–%#x: %d instructions, %d FP, %d loads, FP fraction %.3f\n",
					l.Start, l.End, l.Mix.All, l.Mix.FP, l.Mix.Loads, l.Mix.FPFraction())
			}
		}
	}
}

// check returns what is wrong with rows against bl.
func check(rows []Row, bl Baseline) []string {
	var ps []string
	for _, r := range rows {
		if r.Res.SpillStores > 0 || r.Res.SpillLoads > 0 {
			ps = append(ps, fmt.Sprintf("%s %s spills (%d bytes stored, %d loaded)", r.Arch, r.Kernel, r.Res.SpillStores, r.Res.SpillLoads))
		}
		want := bl[r.Arch][r.Kernel] // none: no FP floor, no FMA
		if r.HotMix.FMA > want.FMA {
			ps = append(ps, fmt.Sprintf("%s %s: %d fused multiply-adds in its hot loops, the baseline allows %d", r.Arch, r.Kernel, r.HotMix.FMA, want.FMA))
		}
		if r.HotMix.FPFraction() < want.FP {
			ps = append(ps, fmt.Sprintf("%s %s: hot-loop FP fraction %.3f is below the baseline's %.3f", r.Arch, r.Kernel, r.HotMix.FPFraction(), want.FP))
		}
	}
	return ps
}

// writeBaseline records every kernel's hot-loop FP fraction, rounded down
// to three digits (so the same code passes against its own baseline).
func writeBaseline(path string, rows []Row) error {
	bl := Baseline{}
	for _, r := range rows {
		if len(r.Hot) == 0 {
			continue
		}
		if bl[r.Arch] == nil {
			bl[r.Arch] = map[string]Limit{}
		}
		bl[r.Arch][r.Kernel] = Limit{FP: math.Floor(r.HotMix.FPFraction()*1000) / 1000, FMA: r.HotMix.FMA}
	}
	data, err := json.MarshalIndent(bl, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

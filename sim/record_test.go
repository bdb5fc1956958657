package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/spec"
)

// recordedSteps lists, by brute force, the steps a record section keeps.
func recordedSteps(steps, every int, keep func(t int) bool) []int {
	var ts []int
	for t := 1; t <= steps; t++ {
		if t%every == 0 && keep(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// Windows, strides and unit subsets pick exactly the values of a full
// recording, bit for bit, whatever the chunking.
func TestRecordSelectsStepsAndUnits(t *testing.T) {
	ref, _ := backend.Lookup("reference")
	full, err := Simulate[float32](context.Background(), smallSpec(t, "record: {states: true}\n"), ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const B, T, N, O = 4, 50, 20, 3
	for _, c := range []struct {
		record string
		every  int
		keep   func(t int) bool
		units  []int
	}{
		{"{every: 3, window: [35, 205], units: [5, 0, 19]}", 3, func(t int) bool { return 35 <= 10*t && 10*t <= 205 }, []int{5, 0, 19}},
		{"{every: 3, steps: [4, 20], units: [5, 0, 19]}", 3, func(t int) bool { return 4 <= t && t <= 20 }, []int{5, 0, 19}},
		{"{every: 1, window: [0, 10]}", 1, func(t int) bool { return t == 1 }, nil},
		{"{every: 4, window: [120, 1e9], units: [7]}", 4, func(t int) bool { return t >= 12 }, []int{7}},
		{"{every: 7, steps: [1, 50], units: [3, 2, 1, 0]}", 7, func(int) bool { return true }, []int{3, 2, 1, 0}},
		{"{every: 2, steps: [49, 50]}", 2, func(t int) bool { return t >= 49 }, nil},
		{"{units: all}", 1, func(int) bool { return true }, nil},
	} {
		want := recordedSteps(T, c.every, c.keep)
		units := c.units
		if units == nil {
			for i := 0; i < N; i++ {
				units = append(units, i)
			}
		}
		for _, chunk := range []int{1, 5, 7, 50} {
			s := smallSpec(t, "record: "+c.record+"\n")
			s.Record.States = ptr(true)
			got, err := Simulate[float32](context.Background(), s, ref, Options{ChunkSteps: chunk})
			if err != nil {
				t.Fatalf("%s: %v", c.record, err)
			}
			M, U := len(want), len(units)
			if got.Recorded != M || len(got.Time) != M || !reflect.DeepEqual(got.Units, units) {
				t.Fatalf("%s chunk %d: %d steps, units %v; want %d steps %v, units %v", c.record, chunk, got.Recorded, got.Units, M, want, units)
			}
			if len(got.Rates) != B*M*U || len(got.States) != B*M*U || len(got.Outputs) != B*M*O {
				t.Fatalf("%s: array lengths %d, %d, %d", c.record, len(got.Rates), len(got.States), len(got.Outputs))
			}
			for m, step := range want {
				if got.Time[m] != float64(step)*10 {
					t.Fatalf("%s: time[%d] = %v, want %v", c.record, m, got.Time[m], float64(step)*10)
				}
				for b := 0; b < B; b++ {
					for k, u := range units {
						g, w := got.Rates[(b*M+m)*U+k], full.Rates[(b*T+step-1)*N+u]
						gs, ws := got.States[(b*M+m)*U+k], full.States[(b*T+step-1)*N+u]
						if math.Float32bits(g) != math.Float32bits(w) || math.Float32bits(gs) != math.Float32bits(ws) {
							t.Fatalf("%s chunk %d: trial %d step %d unit %d: rate %v state %v, want %v %v", c.record, chunk, b, step, u, g, gs, w, ws)
						}
					}
					for o := 0; o < O; o++ {
						if g, w := got.Outputs[(b*M+m)*O+o], full.Outputs[(b*T+step-1)*O+o]; math.Float32bits(g) != math.Float32bits(w) {
							t.Fatalf("%s: output %d of trial %d step %d = %v, want %v", c.record, o, b, step, g, w)
						}
					}
				}
			}
			if !reflect.DeepEqual(got.FinalState, full.FinalState) {
				t.Fatalf("%s: the record section changed the final state", c.record)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// A window in ms with a decimal dt keeps the steps whose times are written
// in it, although 3·0.1 is not 0.3 in binary.
func TestRecordWindowDecimalDt(t *testing.T) {
	s := smallSpec(t, "dt: 0.1\ntau: 1\nrecord: {window: [0.3, 0.6]}\n")
	p, err := s.Record.Plan(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.First != 3 || p.Last != 6 || p.M != 4 {
		t.Errorf("window [0.3, 0.6] ms at dt 0.1 ms keeps steps %d…%d (%d), want 3…6 (4)", p.First, p.Last, p.M)
	}
}

// plan.keep agrees with a brute-force enumeration for every chunking.
func TestRecordKeepMatchesEnumeration(t *testing.T) {
	for every := 1; every <= 4; every++ {
		for first := 1; first <= 9; first++ {
			for last := first; last <= 13; last++ {
				const steps = 13
				p := &spec.RecordPlan{Every: every, First: (first + every - 1) / every * every, Last: last / every * every}
				p.M = max(0, (p.Last-p.First)/every+1)
				if p.Last < p.First {
					p.M = 0
				}
				want := recordedSteps(steps, every, func(t int) bool { return first <= t && t <= last })
				if p.M != len(want) {
					t.Fatalf("every %d window %d…%d: M = %d, want %d", every, first, last, p.M, len(want))
				}
				for n := 1; n <= 5; n++ {
					var got []int
					for done := 0; done < steps; done += n {
						k := min(n, steps-done)
						j0, j1, m0 := p.Keep(done, k)
						rows := recordedSteps(done+k, every, func(t int) bool { return t > done })
						for j := j0; j < j1; j++ {
							if m0+j-j0 != len(got) {
								t.Fatalf("every %d window %d…%d chunk %d at %d: row %d goes to record %d, want %d", every, first, last, n, done, j, m0+j-j0, len(got))
							}
							got = append(got, rows[j])
						}
					}
					if !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
						t.Fatalf("every %d window %d…%d chunk %d: kept steps %v, want %v", every, first, last, n, got, want)
					}
				}
			}
		}
	}
}

// Bad record sections are errors naming the file, the field and the reason.
func TestRecordSpecErrors(t *testing.T) {
	for _, c := range []struct{ yaml, field, reason string }{
		{"every: 0", "record.every", "≥ 1"},
		{"window: [5]", "record.window", "[t0, t1]"},
		{"window: [-1, 3]", "record.window", "≥ 0"},
		{"window: [50, 20]", "record.window", "after end"},
		{"window: [.nan, 20]", "record.window", "finite"},
		{"window: [0, 20], steps: [1, 2]", "record.window", "not both"},
		{"steps: [0, 4]", "record.steps", "1 ≤ s0 ≤ s1"},
		{"steps: [5, 4]", "record.steps", "1 ≤ s0 ≤ s1"},
		{"steps: [1, 2, 3]", "record.steps", "[s0, s1]"},
		{"window: [2000, 3000]", "record.window", "selects no recorded step"},
		{"steps: [3, 5], every: 6", "record.steps", "selects no recorded step"},
		{"units: []", "record.units", "empty"},
		{"units: [3, 20]", "record.units", "outside 0…19"},
		{"units: [-1]", "record.units", "outside"},
		{"units: [4, 4]", "record.units", "twice"},
		{"units: [a]", "record.units", "not a unit index"},
		{"units: some", "record.units", "must be \"all\""},
		{"units: {area: A1}", "record.units", "needs a structure"},
		{"units: {population: X}", "record.units.population", "E or I"},
		{"units: {layer: 2}", "record.units", "unknown key \"layer\""},
		{"units: {}", "record.units", "selects nothing"},
		{"rates: null", "record.rates", "true or false"},
		{"sample: 3", "", "unknown field sample"},
	} {
		src := "dims: [1, 20, 1]\nsteps: 50\nrecord: {" + c.yaml + "}\n"
		_, err := spec.Parse("bad.yaml", []byte(src))
		if err == nil {
			t.Errorf("record {%s}: no error", c.yaml)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "bad.yaml") || !strings.Contains(msg, c.field) || !strings.Contains(msg, c.reason) {
			t.Errorf("record {%s}: error %q, want file bad.yaml, field %s and %q", c.yaml, msg, c.field, c.reason)
		}
	}
	// The window is checked against the run after flags change its length.
	s, err := spec.Parse("ok.yaml", []byte("dims: [1, 20, 1]\nsteps: 500\nrecord: {window: [2000, 3000]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.Steps = 100
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "record.window") {
		t.Errorf("window past a shortened run: err = %v", err)
	}
}

// streamSpec is a run with every recorded array, a unit subset and a window.
func streamSpec(t *testing.T, prec string) *spec.Spec {
	return smallSpec(t, "precision: "+prec+"\nsteps: 90\nrecord: {states: true, every: 2, window: [30, 800], units: [19, 3, 4, 11]}\n")
}

// A run whose recordings exceed the memory limit streams them to disk and
// writes the same bytes as one that holds them in memory.
func TestStreamedRunEqualsInMemory(t *testing.T) {
	for _, prec := range []string{"f32", "f64"} {
		s := streamSpec(t, prec)
		plan, _ := s.Record.Plan(s)
		size := output.RecordBytes[float32](plan)
		memDir, diskDir := t.TempDir(), t.TempDir()
		mem, err := Run(context.Background(), s, Options{Out: memDir, ChunkSteps: 7})
		if err != nil {
			t.Fatal(err)
		}
		disk, err := Run(context.Background(), s, Options{Out: diskDir, ChunkSteps: 7, MaxMemory: size / 3})
		if err != nil {
			t.Fatal(err)
		}
		if mem.Streamed || !disk.Streamed {
			t.Fatalf("%s: streamed = %v (in memory), %v (limit %d of %d bytes)", prec, mem.Streamed, disk.Streamed, size/3, size)
		}
		for _, f := range []string{"result.npz", "rates.png"} {
			a, err1 := os.ReadFile(filepath.Join(memDir, f))
			b, err2 := os.ReadFile(filepath.Join(diskDir, f))
			if err1 != nil || err2 != nil || !bytes.Equal(a, b) || len(a) == 0 {
				t.Errorf("%s: %s differs between the in-memory and the streamed run (%v, %v)", prec, f, err1, err2)
			}
		}
		if names := dirNames(t, diskDir); !reflect.DeepEqual(names, []string{"meta.json", "rates.png", "result.npz"}) {
			t.Errorf("%s: streamed run left %v", prec, names)
		}
		arrs, err := npz.Load(filepath.Join(diskDir, "result.npz"))
		if err != nil {
			t.Fatal(err)
		}
		M := len(recordedSteps(90, 2, func(t int) bool { return 30 <= 10*t && 10*t <= 800 }))
		for name, shape := range map[string][]int{"rates": {4, M, 4}, "states": {4, M, 4}, "outputs": {4, M, 3}, "time": {M}, "units": {4}} {
			if a := arrs[name]; a == nil || !equalInts(a.Shape, shape) {
				t.Errorf("%s: %s missing or misshapen (want %v)", prec, name, shape)
			}
		}
		if u, _ := arrs["units"].Float64s(); !reflect.DeepEqual(u, []float64{19, 3, 4, 11}) {
			t.Errorf("%s: units = %v", prec, u)
		}
		var meta output.Meta
		data, _ := os.ReadFile(filepath.Join(diskDir, "meta.json"))
		if err := json.Unmarshal(data, &meta); err != nil || meta.Recording == nil {
			t.Fatalf("%s: meta.json: %v", prec, err)
		}
		r := meta.Recording
		if !r.Streamed || r.Steps != M || r.FirstStep != 4 || r.LastStep != 80 || r.FirstTime != 40 || r.UnitCount != 4 || !r.States {
			t.Errorf("%s: meta.json recording = %+v", prec, r)
		}
	}
}

// With the limit below one chunk, and trials that each need many writes,
// streaming still matches Simulate's in-memory values.
func TestStreamedValuesMatchSimulate(t *testing.T) {
	s := smallSpec(t, "steps: 120\nrecord: {every: 3}\n")
	ref, _ := backend.Lookup("reference")
	want, err := Simulate[float32](context.Background(), s, ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Run(context.Background(), s, Options{Out: dir, ChunkSteps: 11, MaxMemory: 1}); err != nil {
		t.Fatal(err)
	}
	arrs, err := npz.Load(filepath.Join(dir, "result.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string][]float32{"rates": want.Rates, "outputs": want.Outputs, "final_state": want.FinalState} {
		got, err := arrs[name].Float32s()
		if err != nil || !bytes.Equal(f32bytes(got), f32bytes(w)) {
			t.Errorf("%s differs from Simulate's (%v)", name, err)
		}
	}
	// Simulate refuses what does not fit and says what to do instead.
	if _, err := Simulate[float32](context.Background(), s, ref, Options{MaxMemory: 100}); err == nil || !strings.Contains(err.Error(), "streams") {
		t.Errorf("Simulate over the limit: err = %v", err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// A run cancelled mid-way (as Ctrl-C does) leaves no result and no
// temporary files, in memory or streaming, and leaves an earlier run's
// result untouched.
func TestInterruptedRunLeavesNoResult(t *testing.T) {
	for _, limit := range []int64{0, 1} {
		s := streamSpec(t, "f32")
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		chunks := 0
		opt := Options{Out: dir, ChunkSteps: 10, MaxMemory: limit}
		opt.hooks.afterChunk = func(done int) {
			if chunks++; chunks == 3 {
				cancel()
			}
		}
		_, err := Run(ctx, s, opt)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "interrupted at step 30 of 90") {
			t.Fatalf("limit %d: err = %v, want interrupted at step 30", limit, err)
		}
		if names := dirNames(t, dir); len(names) != 0 || len(output.StagingDirs(dir)) != 0 {
			t.Errorf("limit %d: interrupted run left %v, staging %v", limit, names, output.StagingDirs(dir))
		}
		// A fresh output directory made by the run is removed again.
		sub := filepath.Join(dir, "new")
		opt.Out = sub
		ctx, cancel = context.WithCancel(context.Background())
		chunks = 0
		if _, err := Run(ctx, s, opt); err == nil {
			t.Fatal("no error")
		}
		cancel()
		if _, err := os.Stat(sub); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("limit %d: interrupted run left its new output directory (%v)", limit, err)
		}
	}
	// Ctrl-C while a streamed result is being assembled stops it too.
	dir0 := t.TempDir()
	ctx0, cancel0 := context.WithCancel(context.Background())
	opt0 := Options{Out: dir0, MaxMemory: 1}
	opt0.hooks.output.WrapArray = func(name string, w io.Writer) io.Writer {
		if name == "outputs" {
			cancel0()
		}
		return w
	}
	_, err := Run(ctx0, streamSpec(t, "f32"), opt0)
	cancel0()
	if err == nil || !strings.Contains(err.Error(), "interrupted") || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while writing result.npz: err = %v", err)
	}
	if names := dirNames(t, dir0); len(names) != 0 || len(output.StagingDirs(dir0)) != 0 {
		t.Errorf("cancelled while writing result.npz: left %v, staging %v", names, output.StagingDirs(dir0))
	}
	// An earlier result survives a failed run in the same directory.
	dir := t.TempDir()
	s := streamSpec(t, "f32")
	if _, err := Run(context.Background(), s, Options{Out: dir}); err != nil {
		t.Fatal(err)
	}
	before := readAll(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	opt := Options{Out: dir, ChunkSteps: 10, MaxMemory: 1}
	opt.hooks.afterChunk = func(int) { cancel() }
	s2 := streamSpec(t, "f32")
	s2.Seed = 99
	if _, err := Run(ctx, s2, opt); err == nil {
		t.Fatal("no error")
	}
	if after := readAll(t, dir); !reflect.DeepEqual(before, after) || len(output.StagingDirs(dir)) != 0 {
		t.Errorf("a failed run changed the earlier run's files: %v → %v (staging %v)", keys(before), keys(after), output.StagingDirs(dir))
	}
}

func readAll(t *testing.T, dir string) map[string]string {
	m := map[string]string{}
	for _, n := range dirNames(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		m[n] = string(b)
	}
	return m
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// failAfter is a disk that fills up after a given number of bytes.
type failAfter struct {
	left   int64
	closed *int
	f      output.SpillFile
}

func (d *failAfter) WriteAt(p []byte, off int64) (int, error) {
	if int64(len(p)) > d.left {
		return 0, &os.PathError{Op: "write", Path: "spill", Err: syscall.ENOSPC}
	}
	d.left -= int64(len(p))
	return d.f.WriteAt(p, off)
}
func (d *failAfter) ReadAt(p []byte, off int64) (int, error) { return d.f.ReadAt(p, off) }
func (d *failAfter) Close() error                            { *d.closed++; return d.f.Close() }

type failWriter struct {
	w    io.Writer
	left int
}

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		return 0, syscall.ENOSPC
	}
	f.left -= len(p)
	return f.w.Write(p)
}

// A full disk, while streaming or while assembling result.npz, fails the
// run with the system's reason and leaves nothing behind.
func TestFullDiskLeavesNoResult(t *testing.T) {
	s := streamSpec(t, "f32")
	// While streaming: the spill files fill the disk.
	dir := t.TempDir()
	closed := 0
	opt := Options{Out: dir, ChunkSteps: 10, MaxMemory: 1}
	opt.hooks.output.Spill = func(d, name string) (output.SpillFile, error) {
		f, err := output.CreateSpill(d, name)
		return &failAfter{left: 200, closed: &closed, f: f}, err
	}
	_, err := Run(context.Background(), s, opt)
	if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "streaming rates") {
		t.Fatalf("full disk while streaming: err = %v", err)
	}
	if closed != 3 {
		t.Errorf("%d of 3 spill files closed", closed)
	}
	if names := dirNames(t, dir); len(names) != 0 || len(output.StagingDirs(dir)) != 0 {
		t.Errorf("full disk while streaming left %v, staging %v", names, output.StagingDirs(dir))
	}
	// While writing result.npz, streamed or not.
	for _, limit := range []int64{0, 1} {
		dir := t.TempDir()
		opt := Options{Out: dir, MaxMemory: limit}
		opt.hooks.output.WrapArray = func(name string, w io.Writer) io.Writer {
			if name == "states" {
				return &failWriter{w: w, left: 100}
			}
			return w
		}
		_, err := Run(context.Background(), s, opt)
		if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "array states") {
			t.Fatalf("limit %d: full disk while writing result.npz: err = %v", limit, err)
		}
		if names := dirNames(t, dir); len(names) != 0 || len(output.StagingDirs(dir)) != 0 {
			t.Errorf("limit %d: full disk while writing result.npz left %v, staging %v", limit, names, output.StagingDirs(dir))
		}
	}
}

// record.units selects by the area and population the spec's structure
// section builds, the same units the network's masks make inhibitory.
func TestRecordUnitsFromStructure(t *testing.T) {
	src := `
dims: [1, 20, 2]
structure: {type: multi_area_ei, areas: [12, 8], area_names: [V1, PFC], exc_pct: 0.75}
steps: 30
trials: 2
backend: reference
record: {units: {area: PFC, population: I}}
`
	s, err := spec.Parse("ei.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	net, err := network.New(s)
	if err != nil {
		t.Fatal(err)
	}
	N := 20
	var want []int
	for _, a := range net.Areas {
		if a.Name != "PFC" {
			continue
		}
		for _, j := range a.Units {
			if net.EI.Hidden == nil || net.EI.Hidden[j] > 0 { // row 0, presynaptic unit j
				continue
			}
			want = append(want, j)
		}
	}
	if len(want) == 0 || len(want) >= 8 {
		t.Fatalf("the test network's PFC has %d inhibitory units; want some but not all of 8", len(want))
	}
	dir := t.TempDir()
	if _, err := Run(context.Background(), s, Options{Out: dir}); err != nil {
		t.Fatal(err)
	}
	arrs, err := npz.Load(filepath.Join(dir, "result.npz"))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := arrs["units"].Float64s()
	var got []int
	for _, x := range u {
		got = append(got, int(x))
	}
	if !reflect.DeepEqual(got, want) || !equalInts(arrs["rates"].Shape, []int{2, 30, len(want)}) {
		t.Errorf("units {area: PFC, population: I} recorded %v (rates %v), want %v of %d", got, arrs["rates"].Shape, want, N)
	}
	// Without a structure the same selection is an error that says why.
	_, err = spec.Parse("plain.yaml", []byte("dims: [1, 20, 2]\nrecord: {units: {population: E}}\n"))
	if err == nil || !strings.Contains(err.Error(), "plain.yaml: field record.units") || !strings.Contains(err.Error(), "structure") {
		t.Errorf("population without structure: err = %v", err)
	}
}

// outputSpec is the run of the commit and kill tests: streamSpec's, and
// with plastic a plastic one that draws the weights picture too. Seed 3
// records no rates: other arrays, other pictures.
func outputSpec(seed uint64, plastic bool) (*spec.Spec, error) {
	rates := ""
	if seed == 3 {
		rates = "rates: false, "
	}
	src := "dims: [2, 20, 3]\nactivation: tanh\nweights: normal\npreact_noise: 0.1\ninput: {type: sine, amplitude: 1, period: 300}\n" +
		"trials: 4\nsteps: 90\nbackend: reference\nrecord: {" + rates + "states: true, every: 2, window: [30, 800], units: [19, 3, 4, 11]}\n"
	if plastic {
		src += "plasticity:\n  record: {every: 8}\n  recurrent: {bounds: [-2, 2], rules: [{rule: hebbian, eta: 0.01}]}\n"
	}
	s, err := spec.Parse("out.yaml", []byte(src+fmt.Sprintf("seed: %d\n", seed)))
	if err != nil {
		return nil, err
	}
	return s, s.Validate()
}

// pictureFormat is the tests' picture format: SVG draws fastest.
const pictureFormat = "svg"

// outputRun runs outputSpec(seed, plastic) into out.
func outputRun(t *testing.T, out string, seed uint64, plastic bool) {
	t.Helper()
	s, err := outputSpec(seed, plastic)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), s, Options{Out: out, PlotFormat: pictureFormat}); err != nil {
		t.Fatal(err)
	}
}

// copyOutput copies the output directory from to a new directory to.
func copyOutput(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Mkdir(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range dirNames(t, from) {
		b, err := os.ReadFile(filepath.Join(from, n))
		if err == nil {
			err = os.WriteFile(filepath.Join(to, n), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// outputState says what an output directory holds: "" when it is missing
// or empty, otherwise the seed of the complete result it holds. It fails
// the test unless that result is whole: result.npz loads and is, byte for
// byte, the result of a complete run of that seed (want), meta.json parses
// and gives its arrays' shapes, and the pictures meta.json names are
// there, and nothing else.
func outputState(t *testing.T, out string, want map[uint64][]byte) string {
	t.Helper()
	entries, err := os.ReadDir(out)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0 {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	data, err := os.ReadFile(filepath.Join(out, "meta.json"))
	if err != nil {
		t.Fatalf("output directory holds %v but no meta.json: %v", names, err)
	}
	var meta output.Meta
	if err := json.Unmarshal(data, &meta); err != nil || meta.Spec == nil {
		t.Fatalf("meta.json does not parse: %v\n%s", err, data)
	}
	wantNames := append([]string{"meta.json", "result.npz"}, meta.Pictures...)
	sort.Strings(names)
	sort.Strings(wantNames)
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("output directory holds %v, want %v (meta.json's pictures %v)", names, wantNames, meta.Pictures)
	}
	arrs, err := npz.Load(filepath.Join(out, "result.npz"))
	if err != nil {
		t.Fatalf("result.npz does not load: %v", err)
	}
	if len(arrs) != len(meta.Arrays) {
		t.Fatalf("result.npz holds %d arrays, meta.json names %d", len(arrs), len(meta.Arrays))
	}
	for name, shape := range meta.Arrays {
		if a := arrs[name]; a == nil || !equalInts(a.Shape, shape) {
			t.Fatalf("meta.json gives %s as %v; result.npz disagrees", name, shape)
		}
	}
	res, _ := os.ReadFile(filepath.Join(out, "result.npz"))
	if w, ok := want[meta.Seed]; !ok || !bytes.Equal(res, w) {
		t.Fatalf("result.npz of seed %d is not that of a complete run of it (known seeds: %d)", meta.Seed, len(want))
	}
	for _, p := range meta.Pictures {
		if b, err := os.ReadFile(filepath.Join(out, p)); err != nil || len(b) < 100 || !bytes.Contains(b[:100], []byte("<svg")) && !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("%s is not a picture (%v)", p, err)
		}
	}
	return fmt.Sprint(meta.Seed)
}

// referenceOutputs runs each seed once into dir/SEED and returns the
// result.npz of each.
func referenceOutputs(t *testing.T, dir string, plastic bool, seeds ...uint64) map[uint64][]byte {
	t.Helper()
	want := map[uint64][]byte{}
	for _, seed := range seeds {
		out := filepath.Join(dir, fmt.Sprint(seed))
		outputRun(t, out, seed, plastic)
		var err error
		if want[seed], err = os.ReadFile(filepath.Join(out, "result.npz")); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// A fault at any step of writing and publishing the output (as the hooks
// list them: every file, the fsyncs, the exchange or the fallback's
// renames) fails the run and leaves the previous result, or none, and no
// staging; a fault in the cleanup after publishing leaves the new result,
// and its staging goes with the next run.
func TestCommitFaultsLeavePreviousResult(t *testing.T) {
	for _, plastic := range []bool{false, true} {
		refs := t.TempDir()
		want := referenceOutputs(t, refs, plastic, 1, 2, 3)
		for _, c := range []struct {
			limit      int64
			noExchange bool
			previous   bool
		}{{0, false, true}, {1, false, true}, {0, true, true}, {1, true, false}, {0, false, false}} {
			if plastic && (c.limit > 0 || !c.previous) {
				continue // the weight snapshots, held in memory, would exceed the limit
			}
			name := fmt.Sprintf("plastic %v, limit %d, no exchange %v, previous %v", plastic, c.limit, c.noExchange, c.previous)
			setup := func() string {
				out := filepath.Join(t.TempDir(), "out")
				if c.previous {
					copyOutput(t, filepath.Join(refs, "1"), out)
				}
				return out
			}
			before := ""
			if c.previous {
				before = "1"
			}
			run := func(out string, step func(string) error) error {
				s, _ := outputSpec(2, plastic)
				opt := Options{Out: out, MaxMemory: c.limit, PlotFormat: pictureFormat}
				opt.hooks.output.NoExchange = c.noExchange
				opt.hooks.output.Step = step
				_, err := Run(context.Background(), s, opt)
				return err
			}
			var steps []string
			if err := run(setup(), func(s string) error { steps = append(steps, s); return nil }); err != nil {
				t.Fatal(err)
			}
			if plastic && !slices.Contains(steps, "weights.svg") || !slices.Contains(steps, "rates.svg") || !slices.Contains(steps, output.StepMeta) {
				t.Fatalf("%s: steps %v", name, steps)
			}
			for i, step := range steps {
				out := setup()
				fault := syscall.EIO
				n := 0
				err := run(out, func(string) error {
					if n++; n == i+1 {
						return fault
					}
					return nil
				})
				after := outputState(t, out, want)
				if step == output.StepCleanup {
					if err != nil || after != "2" {
						t.Errorf("%s: fault in %s: err %v, output %q; want the new result", name, step, err, after)
					}
					if len(output.StagingDirs(out)) != 1 {
						t.Errorf("%s: fault in %s: staging %v, want the one left", name, step, output.StagingDirs(out))
					}
					outputRun(t, out, 3, plastic)
				} else if !errors.Is(err, fault) || after != before {
					t.Errorf("%s: fault at step %d (%s): err %v, output %q; want the fault and output %q", name, i, step, err, after, before)
				}
				if left := output.StagingDirs(out); len(left) != 0 {
					t.Errorf("%s: fault at %s left staging %v", name, step, left)
				}
			}
		}
	}
}

// childEnv, set, makes the test binary a child that runs one output run as
// childRun (JSON) says, for the kill tests.
const childEnv = "RATESIM_OUTPUT_CHILD"

type childRun struct {
	Out        string
	Seed       uint64
	Streamed   bool
	NoExchange bool
	// DieAt kills the child with SIGKILL at its DieAt-th commit step (0:
	// never); PauseAt instead writes Out+".paused" and sleeps there.
	DieAt, PauseAt int
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(runChild(cfg))
	}
	os.Exit(m.Run())
}

func runChild(cfg string) int {
	var c childRun
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := outputSpec(c.Seed, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	opt := Options{Out: c.Out, PlotFormat: pictureFormat}
	if c.Streamed {
		opt.MaxMemory = 1
	}
	opt.hooks.output.NoExchange = c.NoExchange
	n := 0
	opt.hooks.output.Step = func(string) error {
		switch n++; n {
		case c.DieAt:
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Kill() // SIGKILL
			}
			time.Sleep(time.Minute)
		case c.PauseAt:
			os.WriteFile(c.Out+".paused", nil, 0o644)
			time.Sleep(time.Minute)
		}
		return nil
	}
	if _, err := Run(context.Background(), s, opt); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startChild starts a child process running c.
func startChild(t *testing.T, c childRun) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cfg, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// killed says a child's Wait error is its death by SIGKILL; any other
// failure fails the test.
func killed(t *testing.T, err error, stderr *bytes.Buffer) bool {
	t.Helper()
	if err == nil {
		return false
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	t.Fatalf("child run failed: %v\n%s", err, stderr)
	return false
}

// kill -9 at any moment — at each commit step in turn, and at random
// times, ≥ 200 times, runs streamed and not, by exchange and by the
// fallback's renames — leaves the output directory holding a whole
// previous or new result (killed while exchanging, never nothing where
// there was a result), and the next run removes the killed runs' staging.
// A live run's staging is never removed by another's.
func TestKill9LeavesWholeResultOrNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a few hundred child runs")
	}
	if runtime.GOOS == "windows" {
		t.Skip("no kill -9, and no locks to tell stale staging by")
	}
	start := time.Now()
	refs := t.TempDir()
	want := referenceOutputs(t, refs, false, 1, 2, 3)

	// A live run (paused while staging) keeps its staging whatever other
	// runs do; once killed, the next run removes it.
	out := filepath.Join(t.TempDir(), "out")
	cmd, stderr := startChild(t, childRun{Out: out, Seed: 2, Streamed: true, PauseAt: 3})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(out + ".paused"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the child did not start: %s", stderr)
		}
	}
	os.Remove(out + ".paused")
	live := output.StagingDirs(out)
	outputRun(t, out, 3, false)
	if got := output.StagingDirs(out); len(live) != 1 || !reflect.DeepEqual(got, live) {
		t.Errorf("a live run's staging %v; after another run %v", live, got)
	}
	cmd.Process.Kill()
	cmd.Wait()
	outputRun(t, out, 3, false)
	if got := output.StagingDirs(out); len(got) != 0 || outputState(t, out, want) != "3" {
		t.Errorf("after the live run was killed, the next run left staging %v", got)
	}

	// Die at each step in turn.
	kills := 0
	for _, c := range []struct{ noExchange, streamed, previous bool }{
		{false, false, true}, {false, true, true}, {false, false, false}, {true, true, true}, {true, false, false},
	} {
		for k := 1; ; k++ {
			out := filepath.Join(t.TempDir(), "out")
			if c.previous {
				copyOutput(t, filepath.Join(refs, "1"), out)
			}
			cmd, stderr := startChild(t, childRun{Out: out, Seed: 2, Streamed: c.streamed, NoExchange: c.noExchange, DieAt: k})
			if !killed(t, cmd.Wait(), stderr) {
				if got := outputState(t, out, want); got != "2" {
					t.Fatalf("an unkilled run left %q", got)
				}
				break // past the last step
			}
			kills++
			got := outputState(t, out, want)
			if !(got == "2" || got == "" && (!c.previous || c.noExchange) || got == "1" && c.previous) {
				t.Errorf("%+v: killed at step %d: output %q", c, k, got)
			}
			if k > 1 && len(output.StagingDirs(out)) == 0 { // step 1 comes before the staging
				t.Errorf("%+v: killed at step %d: no staging left to clean", c, k)
			}
			// The next run cleans up (and repairs the fallback's gap).
			outputRun(t, out, 3, false)
			if left := output.StagingDirs(out); len(left) != 0 || outputState(t, out, want) != "3" {
				t.Errorf("%+v: killed at step %d: the next run left staging %v", c, k, left)
			}
		}
	}
	t.Logf("%d kills at commit steps (%v)", kills, time.Since(start).Round(time.Millisecond))

	// Random: one output directory, runs of changing seeds killed at
	// random moments; every tenth runs to the end.
	out = filepath.Join(t.TempDir(), "out")
	rng := rand.New(rand.NewPCG(1, 2))
	var span time.Duration // a whole child run, measured (mean)
	whole := 0
	last, random, landed := "", 0, map[string]int{}
	for i := 0; random < 200; i++ {
		c := childRun{Out: out, Seed: uint64(i%3 + 1), Streamed: i%2 == 1, NoExchange: i%4 == 3}
		t0 := time.Now()
		cmd, stderr := startChild(t, c)
		timer := time.AfterFunc(time.Duration(rng.Float64()*1.1*float64(span)), func() { cmd.Process.Kill() })
		if i < 3 || i%10 == 0 {
			timer.Stop()
		}
		err := cmd.Wait()
		timer.Stop()
		wasKilled := killed(t, err, stderr)
		if wasKilled {
			random++
		} else {
			whole++
			span += (time.Since(t0) - span) / time.Duration(whole)
			if left := output.StagingDirs(out); len(left) != 0 {
				t.Errorf("a whole run left staging %v", left)
			}
		}
		got := outputState(t, out, want)
		if got == "" && last != "" && !c.NoExchange {
			t.Fatalf("run %d: killed while publishing by exchange, it left no result (before: seed %s)", i, last)
		}
		last = got
		if wasKilled {
			state := "before staging"
			if len(output.StagingDirs(out)) > 0 {
				state = "while staged"
			}
			if got == fmt.Sprint(c.Seed) {
				state = "after publishing"
			}
			landed[state]++
		}
	}
	t.Logf("%d random kills, %d whole runs (of %v): killed %v; %v in all", random, whole, span.Round(time.Millisecond), landed, time.Since(start).Round(time.Millisecond))
}

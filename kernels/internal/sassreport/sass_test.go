package main

import (
	"os"
	"strings"
	"testing"
)

func parseFixture(t *testing.T) []Function {
	t.Helper()
	f, err := os.Open("testdata/excerpt.sass")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs, err := ParseSASS(f)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// The fixture (testdata/excerpt.sass, cuobjdump -sass's format) has two
// functions; demo_kernel holds loop A (0x20–0xa0: 9 instructions, 4 FP, 2
// loads), loop B (0xb0–0xf0: 5 instructions, 1 FP, 1 FFMA, 1 load), a
// forward branch, and loop C (0x10–0x120, 18 instructions) around both.
func TestParseSASS(t *testing.T) {
	fs := parseFixture(t)
	if len(fs) != 2 || fs[0].Name != "demo_kernel" || fs[1].Name != "second_kernel" {
		t.Fatalf("functions %+v", fs)
	}
	if n := len(fs[0].Instrs); n != 20 {
		t.Errorf("demo_kernel: %d instructions, want 20", n)
	}
	if n := len(fs[1].Instrs); n != 2 {
		t.Errorf("second_kernel: %d instructions, want 2", n)
	}
	in := fs[0].Instrs[2]
	if in.Addr != 0x20 || in.Op != "LDS.128" || in.Base() != "LDS" || in.Target != -1 {
		t.Errorf("third instruction %+v", in)
	}
	var targets []int64
	for _, in := range fs[0].Instrs {
		if in.Base() == "BRA" {
			targets = append(targets, in.Target)
		}
	}
	if want := []int64{0x20, 0xb0, 0x130, 0x10}; !equal(targets, want) {
		t.Errorf("branch targets %#x, want %#x", targets, want)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLoops(t *testing.T) {
	ls := Loops(parseFixture(t)[0])
	want := []Loop{
		{Start: 0x20, End: 0xa0, Innermost: true, Mix: Mix{All: 9, FP: 4, Loads: 2}},
		{Start: 0xb0, End: 0xf0, Innermost: true, Mix: Mix{All: 5, FP: 1, FMA: 1, Loads: 1}},
		{Start: 0x10, End: 0x120, Innermost: false, Mix: Mix{All: 18, FP: 5, FMA: 1, Loads: 3}},
	}
	if len(ls) != len(want) {
		t.Fatalf("loops %+v, want %+v", ls, want)
	}
	for i := range want {
		if ls[i] != want[i] {
			t.Errorf("loop %d: %+v, want %+v", i, ls[i], want[i])
		}
	}
	if ls := Loops(parseFixture(t)[1]); len(ls) != 0 {
		t.Errorf("second_kernel: loops %+v, want none", ls)
	}
}

func TestHotLoops(t *testing.T) {
	hot := HotLoops(parseFixture(t)[0])
	// A and B; not C, which holds them.
	if len(hot) != 2 || hot[0].Start != 0x20 || hot[1].Start != 0xb0 {
		t.Fatalf("hot loops %+v, want loops A and B", hot)
	}
	m := HotMix(hot)
	if want := (Mix{All: 14, FP: 5, FMA: 1, Loads: 3}); m != want || m.FPFraction() != 5.0/14 {
		t.Errorf("hot mix %+v (fraction %v), want %+v", m, m.FPFraction(), want)
	}
	if (Mix{}).FPFraction() != 0 {
		t.Error("empty mix: fraction not 0")
	}
	if hot := HotLoops(parseFixture(t)[1]); len(hot) != 0 {
		t.Errorf("second_kernel: hot loops %+v", hot)
	}
}

func TestParsePtxasInfo(t *testing.T) {
	data, err := os.ReadFile("testdata/ptxas.txt")
	if err != nil {
		t.Fatal(err)
	}
	res, order, err := ParsePtxasInfo(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] != "spilly" || order[1] != "clean" {
		t.Fatalf("entries %v", order)
	}
	// The callee's spills count as the entry's.
	if got, want := *res["spilly"], (Resources{Registers: 128, Shared: 5248, Stack: 24, SpillStores: 24, SpillLoads: 36}); got != want {
		t.Errorf("spilly: %+v, want %+v", got, want)
	}
	if got, want := *res["clean"], (Resources{Registers: 32}); got != want {
		t.Errorf("clean: %+v, want %+v", got, want)
	}
}

func TestCheck(t *testing.T) {
	bl := Baseline{"sm_90": {"k": {FP: 0.5, FMA: 0}, "div": {FP: 0.1, FMA: 3}}}
	good := Row{Arch: "sm_90", Kernel: "k", HotMix: Mix{All: 10, FP: 5}}
	if ps := check([]Row{good}, bl); len(ps) != 0 {
		t.Errorf("at the baseline: %v", ps)
	}
	cases := []struct {
		r    Row
		word string
	}{
		{Row{Arch: "sm_90", Kernel: "k", HotMix: Mix{All: 10, FP: 4}}, "below"},
		{Row{Arch: "sm_90", Kernel: "k", Res: Resources{SpillLoads: 4}, HotMix: Mix{All: 10, FP: 5}}, "spills"},
		{Row{Arch: "sm_90", Kernel: "k", HotMix: Mix{All: 10, FP: 5, FMA: 1}}, "fused"},
		{Row{Arch: "sm_90", Kernel: "div", HotMix: Mix{All: 10, FP: 5, FMA: 4}}, "fused"},
		{Row{Arch: "sm_80", Kernel: "new", HotMix: Mix{All: 10, FP: 5, FMA: 1}}, "fused"},
	}
	for _, c := range cases {
		ps := check([]Row{good, c.r}, bl)
		if len(ps) != 1 || !strings.Contains(ps[0], c.word) {
			t.Errorf("%+v: problems %v, want one about %q", c.r, ps, c.word)
		}
	}
}

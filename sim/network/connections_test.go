package network

import (
	"math"
	"strings"

	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/cpu"

	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/spec"
)

const groupsSpec = `
dims: [16, 26, 3]
input_shape: [1, 4, 4]
biases: zero
groups:
  - {name: E, shape: [2, 3, 3]}
  - {name: I, size: 8}
connections:
  - {from: input, to: E, type: conv, out_channels: 2, kernel_size: [2, 2]}
  - {from: E, to: E, type: distance, weight: {kind: gaussian, amp: 0.2, sigma: 1}, exclude_self: true}
  - {from: E, to: I, type: fixed_probability, p: 0.3}
  - {from: I, to: E, type: full, weight: {kind: normal, mean: -0.1, std: 0.02}}
  - {from: E, to: E, type: fixed_probability, p: 0.5}
  - {from: E, to: output, type: full}
`

// The built layers are the sum, in list order, of each connection's own
// builder output drawn from its own streams and placed at its groups'
// offsets; nothing else is nonzero.
func TestConnectionsPlaced(t *testing.T) {
	s, err := spec.Parse("g.yaml", []byte(groupsSpec))
	if err != nil {
		t.Fatal(err)
	}
	net, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	placed, _ := s.PlaceConnections()
	want := [3][]float64{make([]float64, len(net.In)), make([]float64, len(net.Hidden)), make([]float64, len(net.Out))}
	cols := [3]int{net.I, net.N, net.N}
	for _, p := range placed {
		m, err := p.Builder.Build(p.Pre, p.Post, connect.HostRandom(s.Seed, spec.StreamConnections+p.Index*connect.NumConnStreams))
		if err != nil {
			t.Fatal(err)
		}
		d := m.ToDense()
		for i := 0; i < m.Rows; i++ {
			for j := 0; j < m.Cols; j++ {
				want[p.Layer][(p.PostOff+i)*cols[p.Layer]+p.PreOff+j] += d[i*m.Cols+j]
			}
		}
	}
	for l, got := range [3][]float64{net.In, net.Hidden, net.Out} {
		nz := 0
		for k := range got {
			if got[k] != want[l][k] {
				t.Fatalf("layer %d entry %d: %v, want %v", l, k, got[k], want[l][k])
			}
			if got[k] != 0 {
				nz++
			}
		}
		if nz == 0 {
			t.Errorf("layer %d is all zero", l)
		}
	}
	// Adding a connection never changes another's weights.
	s2, _ := spec.Parse("g.yaml", []byte(groupsSpec+"  - {from: I, to: I, type: full}\n"))
	net2, err := New(s2)
	if err != nil {
		t.Fatal(err)
	}
	for k := range net.In {
		if net.In[k] != net2.In[k] {
			t.Fatal("input weights moved when a connection was added")
		}
	}
	for i := 0; i < 18; i++ {
		for j := 0; j < 26; j++ {
			if net.Hidden[i*26+j] != net2.Hidden[i*26+j] {
				t.Fatal("hidden weights onto E moved when a connection into I was added")
			}
		}
	}
}

// The built-in visual_cortex example runs on the cpu backend with the
// reference's bits (rates and outputs of every step, both precisions).
func TestVisualCortexExampleCPUMatchesReference(t *testing.T) {
	s, err := spec.LoadExample("visual_cortex")
	if err != nil {
		t.Fatal(err)
	}
	net, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(net.Connections) != 5 {
		t.Fatalf("%d connections built, want 5", len(net.Connections))
	}
	in := make([]float32, s.Trials*s.Steps*net.I)
	for k := range in {
		if (k/net.I)%s.Steps < 30 {
			in[k] = 1
		}
	}
	p := Program[float32](net, s.Trials, s.Seed, backend.Record{Rates: true, Outputs: true})
	var got [2]*backend.Chunk[float32]
	for b, be := range []backend.Backend{backend.Reference, cpu.New()} {
		run, err := backend.Start(be, p)
		if err != nil {
			t.Fatal(err)
		}
		got[b] = backend.NewChunkFor(p, 0, s.Steps)
		if err := run.Advance(s.Steps, in, got[b]); err != nil {
			t.Fatal(err)
		}
		run.Close()
	}
	nz := 0
	for k, v := range got[0].Rates {
		if math.Float32bits(v) != math.Float32bits(got[1].Rates[k]) {
			t.Fatalf("rate %d: reference %v, cpu %v", k, v, got[1].Rates[k])
		}
		if v != 0 {
			nz++
		}
	}
	for k, v := range got[0].Outputs {
		if math.Float32bits(v) != math.Float32bits(got[1].Outputs[k]) {
			t.Fatalf("output %d: reference %v, cpu %v", k, v, got[1].Outputs[k])
		}
	}
	if nz == 0 {
		t.Fatal("the example's rates are all zero")
	}
}

// delay_steps on a recurrent connection becomes the program's Delays (the
// connection's block, pre-major), the cpu run keeps the reference's bits,
// and the delay changes the run.
func TestConnectionDelays(t *testing.T) {
	data, _ := spec.Example("visual_cortex")
	undelayed := strings.NewReplacer(", delay_ms: 10}", "}", ", delay_ms: 20}", "}").Replace(string(data))
	base, err := spec.Parse("u.yaml", []byte(undelayed))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "max_distance: 2, exclude_self: true}", "max_distance: 2, exclude_self: true, delay_steps: 3}", 1)
	s, err := spec.Parse("d.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	net, plain := Build(s), Build(base)
	p := Program[float32](net, s.Trials, s.Seed, backend.Record{Rates: true})
	q := Program[float32](plain, s.Trials, s.Seed, backend.Record{Rates: true})
	if p.Delays == nil || p.Delays.Max != 3 || q.Delays != nil {
		t.Fatal("delays not in the program")
	}
	for j := 0; j < 164; j++ {
		for i := 0; i < 164; i++ {
			want := uint16(0)
			switch {
			case i < 144 && j < 144 && net.Hidden[i*164+j] != 0 && net.Connections[1].Matrix.ToDense()[i*144+j] != 0:
				want = 3 // distance, delay_steps 3
			case i >= 144 && j < 144:
				want = 1 // V1 → I, delay_ms 10 at dt 10
			case i < 144 && j >= 144:
				want = 2 // I → V1, delay_ms 20
			}
			if got := p.Delays.Steps[j*164+i]; got != want && net.Hidden[i*164+j] != 0 {
				t.Fatalf("delay %d → %d = %d, want %d", j, i, got, want)
			}
		}
	}
	in := make([]float32, s.Trials*s.Steps*net.I)
	for k := range in {
		in[k] = 1
	}
	var got [3]*backend.Chunk[float32]
	for b, c := range []struct {
		be backend.Backend
		p  *backend.Program[float32]
	}{{backend.Reference, p}, {cpu.New(), p}, {backend.Reference, q}} {
		run, err := backend.Start(c.be, c.p)
		if err != nil {
			t.Fatal(err)
		}
		got[b] = backend.NewChunkFor(c.p, 0, 50)
		if err := run.Advance(50, in[:s.Trials*50*net.I], got[b]); err != nil {
			t.Fatal(err)
		}
		run.Close()
	}
	differs := false
	for k, v := range got[0].Rates {
		if math.Float32bits(v) != math.Float32bits(got[1].Rates[k]) {
			t.Fatalf("rate %d: reference %v, cpu %v", k, v, got[1].Rates[k])
		}
		differs = differs || v != got[2].Rates[k]
	}
	if !differs {
		t.Error("the delay changed nothing")
	}
}

// allSparse edits groupsSpec so that every connection into a group is
// forced sparse (none is by density: conv 0.25, distance 0.94, p 0.3 and
// 0.5, full).
const allSparse = "[2, 2]}|[2, 2], form: sparse}|exclude_self: true}|exclude_self: true, form: sparse}|p: 0.3}|p: 0.3, form: sparse}|std: 0.02}}|std: 0.02}, form: sparse}|p: 0.5}|p: 0.5, form: sparse}"

// Each target group runs sparse when every connection into it does, and
// `form:` overrides the density rule both ways; the program's Sparse and
// its Dense ranges follow. Every form gives the reference's bits on the
// CPU.
func TestDriveFormPerGroup(t *testing.T) {
	for _, tc := range []struct {
		name, edit  string
		sparse      bool
		dense       []backend.ColumnRange
		formsSparse []bool
	}{
		{"auto", "", false, nil, []bool{false, false, false, false, false, false}},
		{"I forced sparse", "p: 0.3}|p: 0.3, form: sparse}", true, []backend.ColumnRange{{Lo: 0, Hi: 18}}, []bool{false, false, true, false, false, false}},
		{"all sparse", allSparse, true, nil, []bool{true, true, true, true, true, false}},
		{"E forced dense", allSparse + "|gaussian, amp: 0.2, sigma: 1}, exclude_self: true, form: sparse}|gaussian, amp: 0.2, sigma: 1}, exclude_self: true, form: dense}", true, []backend.ColumnRange{{Lo: 0, Hi: 18}}, []bool{true, false, true, true, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := groupsSpec
			if tc.edit != "" {
				parts := strings.Split(tc.edit, "|")
				for k := 0; k < len(parts); k += 2 {
					if !strings.Contains(text, parts[k]) {
						t.Fatalf("%q not in the spec", parts[k])
					}
					text = strings.Replace(text, parts[k], parts[k+1], 1)
				}
			}
			text += "steps: 40\ntrials: 9\n"
			s, err := spec.Parse("g.yaml", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			net, err := New(s)
			if err != nil {
				t.Fatal(err)
			}
			for k, c := range net.Connections {
				if c.Sparse != tc.formsSparse[k] {
					t.Errorf("connection %d (%s → %s %s, density %.3f): sparse %v, want %v", k, c.From, c.To, c.Builder.Type(), c.Matrix.Density(), c.Sparse, tc.formsSparse[k])
				}
			}
			sparse, dense := DriveForm(net)
			if sparse != tc.sparse || len(dense) != len(tc.dense) {
				t.Fatalf("DriveForm = %v, %v; want %v, %v", sparse, dense, tc.sparse, tc.dense)
			}
			for k := range dense {
				if dense[k] != tc.dense[k] {
					t.Fatalf("DriveForm dense = %v, want %v", dense, tc.dense)
				}
			}
			p := Program[float32](net, 9, s.Seed, backend.Record{Rates: true})
			if (p.Sparse != nil) != tc.sparse {
				t.Fatalf("program Sparse set %v, want %v", p.Sparse != nil, tc.sparse)
			}
			in := make([]float32, 9*40*net.I)
			for k := range in {
				in[k] = float32(k%7) * 0.1
			}
			var got [2]*backend.Chunk[float32]
			for b, be := range []backend.Backend{backend.Reference, cpu.New()} {
				run, err := backend.Start(be, p)
				if err != nil {
					t.Fatal(err)
				}
				got[b] = backend.NewChunkFor(p, 0, 40)
				if err := run.Advance(40, in, got[b]); err != nil {
					t.Fatal(err)
				}
				run.Close()
			}
			for k, v := range got[0].Rates {
				if math.Float32bits(v) != math.Float32bits(got[1].Rates[k]) {
					t.Fatalf("rate %d: reference %v, cpu %v", k, v, got[1].Rates[k])
				}
			}
		})
	}
}

func TestConnectionFormRefused(t *testing.T) {
	for _, tc := range []struct{ edit, want string }{
		{"p: 0.3}|p: 0.3, form: csr}", "connections[2].form: must be auto, dense or sparse, got csr"},
		{"to: output, type: full}|to: output, type: full, form: sparse}", "connections[5].form: the readout always runs dense"},
	} {
		parts := strings.Split(tc.edit, "|")
		s, err := spec.Parse("g.yaml", []byte(strings.Replace(groupsSpec, parts[0], parts[1], 1)))
		if err == nil {
			_, err = New(s)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", parts[1], err, tc.want)
		}
	}
}

// Named input groups place a connection's presynaptic side at the group's
// offset among the inputs, with the group's own shape.
func TestInputGroups(t *testing.T) {
	text := `
dims: [24, 26, 0]
biases: zero
input_groups:
  - {name: on, shape: [1, 4, 4]}
  - {name: cue, size: 8}
groups:
  - {name: E, shape: [2, 3, 3]}
  - {name: I, size: 8}
connections:
  - {from: on, to: E, type: conv, out_channels: 2, kernel_size: [2, 2]}
  - {from: cue, to: I, type: one_to_one, weight: {kind: constant, value: 0.5}}
  - {from: input, to: I, type: full, weight: {kind: constant, value: 0.01}}
`
	s, err := spec.Parse("in.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	net, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	N, I := net.N, net.I
	if N != 26 || I != 24 {
		t.Fatalf("N, I = %d, %d", N, I)
	}
	conv := net.Connections[0].Matrix.ToDense()
	for i := 0; i < N; i++ {
		for q := 0; q < I; q++ {
			w := net.In[i*I+q]
			var want float64
			if i < 18 && q < 16 {
				want = conv[i*16+q]
			}
			if i >= 18 {
				want = 0.01
				if q >= 16 && q-16 == i-18 {
					want += 0.5
				}
			}
			if w != want {
				t.Fatalf("In[%d][%d] = %v, want %v", i, q, w, want)
			}
		}
	}
	for _, tc := range []struct{ edit, want string }{
		{"{name: cue, size: 8}|{name: cue, size: 5}", "input_groups: the input groups hold 21 inputs, dims[0] is 24"},
		{"{name: cue, size: 8}|{name: E, size: 8}", `input_groups[1].name: "E" names a hidden group too`},
		{"{from: cue, to: I|{from: I, to: cue", `connections[1].to: "cue" is an input group, only a source`},
		{"biases: zero|biases: zero\ninput_shape: [24]", "input_shape: give input_shape or input_groups"},
		{"{from: on, to: E|{from: off, to: E", `connections[0].from: no group "off" (groups, input groups, input)`},
	} {
		parts := strings.Split(tc.edit, "|")
		s, err := spec.Parse("in.yaml", []byte(strings.Replace(text, parts[0], parts[1], 1)))
		if err == nil {
			_, err = New(s)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", parts[1], err, tc.want)
		}
	}
}

package spec_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/spec"
)

// FuzzParseSpec: any bytes give a spec or an error naming the file, never a
// panic; a spec that parses validates again, marshals for meta.json and, when
// small, builds its network.
func FuzzParseSpec(f *testing.F) {
	for _, name := range spec.Examples() {
		data, _ := spec.Example(name)
		f.Add(data)
	}
	for _, seed := range []string{
		"",
		"dims: [2, 10, 1]\ntau: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]\n",
		"dims: [1, 6, 1]\nalpha: 0.5\nweights: {input: zero, hidden: normal}\nbiases: {readout: uniform}\nself_connections: false\n",
		"dims: [1, 12, 2]\nstructure: {type: multi_area_ei, areas: [4, 8], area_connectivities: [[1, 0.5], [0.2, 1]], exc_pct: 0.5, inter_area_connections: [true, false, false, true], inh_readout: false}\n",
		"dims: [3, 10, 2]\nstructure: {type: multi_io, input_dims: [1, 2], readout_dims: [2]}\n",
		"dims: [1, 10, 1]\nstructure: {type: random_input, input_spar: 0.3, readout_spar: 0.3, hidden_spar: 0.5, overlap: false}\n",
		"weights: {hidden: {file: w.npy}}\ninit_state: {from: run}\n",
		"sparsity_masks: {hidden: {file: m.npz, key: k}}\nei_balance: all\n",
		"init_state: [1, 2]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := spec.Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed spec fails Validate: %v", err)
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("parsed spec does not marshal: %v", err)
		}
		if s.Dims[0] <= 64 && s.Dims[1] <= 64 && s.Dims[2] <= 64 && s.Trials <= 64 {
			net, err := network.New(s)
			if err != nil {
				t.Fatalf("valid spec does not build: %v", err)
			}
			if len(net.Hidden) != s.Dims[1]*s.Dims[1] {
				t.Fatalf("hidden has %d weights for %d units", len(net.Hidden), s.Dims[1])
			}
		}
	})
}

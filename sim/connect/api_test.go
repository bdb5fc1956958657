package connect

import (
	"errors"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
)

func TestHostRandomUsesTheHostStreams(t *testing.T) {
	r := HostRandom(7, 40)
	if r.Uniform(StreamSynapse, 12) != backend.HostUniform(7, 40+StreamSynapse, 12) ||
		r.Normal(StreamWeight, 3) != backend.HostNormal(7, 40+StreamWeight, 3) {
		t.Error("HostRandom does not draw host stream first + s")
	}
}

// A spec's connection {type, …} decodes into New's parameters.
func TestNewDecodesSpecFields(t *testing.T) {
	for _, tc := range []struct {
		typ, doc string
		want     string // the parameter a Check error names, "" for none
	}{
		{"fixed_probability", "p: 0.2\nexclude_self: true\nweight: {kind: uniform, low: 0, high: 0.2}\nw_min: 0.01\n", ""},
		{"fixed_probability", "p: 0.2\nw_min: 0.3\nw_max: 0.1\n", "w_min"},
		{"conv", "out_channels: 4\nkernel_size: [3, 3]\nstride: [2, 2]\npadding: [1, 1]\nbias: {kind: fan_in_uniform}\n", ""},
		{"conv", "out_channels: 4\nkernel_size: [3, 3]\ndilation: [0, -1]\n", "dilation"},
		{"patched", "n_sub_models: 2\nstride_shape: [1, 1]\np_conn: 0.5\n", ""},
		{"distance", "metric: circular\nweight: {kind: gaussian, amp: 1, sigma: 2}\nmax_distance: 3\n", ""},
		{"distance", "probability: {kind: constant, amp: 1.5}\n", "probability"},
		{"fixed_in_degree", "k: 99\n", "k"},
	} {
		c, err := New(tc.typ)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal([]byte(tc.doc), c); err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		pre, post := Group{Shape: []int{2, 6, 6}}, Group{Shape: []int{4, 3, 3}}
		if tc.typ == "patched" {
			pre, post = Units(12), Units(8)
		}
		err = c.Check(pre, post)
		var pe *ParamError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %q: %v", tc.typ, tc.doc, err)
		case tc.want != "" && (!errors.As(err, &pe) || pe.Param != tc.want):
			t.Errorf("%s %q: error %v, want one naming %s", tc.typ, tc.doc, err, tc.want)
		case tc.want == "":
			if _, err := c.Build(pre, post, rnd(1)); err != nil {
				t.Errorf("%s: %v", tc.typ, err)
			}
		}
	}
	fp, _ := New("fixed_probability")
	yaml.Unmarshal([]byte("p: 0.2\nexclude_self: true\nw_min: 0.01\n"), fp)
	if p := fp.(*FixedProbability); p.P != 0.2 || !p.ExcludeSelf || p.Clamp.Min == nil || *p.Clamp.Min != 0.01 || p.Clamp.Max != nil {
		t.Errorf("decoded %+v", p)
	}
	if _, err := New("dist_depd"); err == nil {
		t.Error("unknown type accepted")
	}
	for _, typ := range Types {
		if c, err := New(typ); err != nil || c.Type() != typ {
			t.Errorf("New(%q) = %v, %v", typ, c, err)
		}
	}
}

package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ratesim/ratesim/backend"
)

// Plastic is a plastic variant of the benchmark step (--plastic): the
// recurrent weights learn at every step by one rule, with bounds [−1, 1]
// projected after every update and no weight snapshots, so that its time
// minus the static step's is the cost of the update itself.
type Plastic struct {
	Kind      backend.RuleKind
	Optimizer backend.Optimizer
	PerTrial  bool // one weight matrix per trial instead of shared weights
}

func (p Plastic) String() string {
	s := p.Kind.String()
	if p.Optimizer == backend.Adam {
		s += "-adam"
	}
	if p.PerTrial {
		s += "-pertrial"
	}
	return s
}

// ParsePlastic reads RULE[-adam][-pertrial], RULE one of hebbian, bcm, oja,
// covariance.
func ParsePlastic(s string) (Plastic, error) {
	var p Plastic
	rest := strings.ToLower(strings.TrimSpace(s))
	if r, ok := strings.CutSuffix(rest, "-pertrial"); ok {
		rest, p.PerTrial = r, true
	}
	if r, ok := strings.CutSuffix(rest, "-adam"); ok {
		rest, p.Optimizer = r, backend.Adam
	}
	k, err := backend.ParseRuleKind(rest)
	if err != nil {
		return p, fmt.Errorf("%q: want RULE[-adam][-pertrial], RULE one of hebbian, bcm, oja, covariance", s)
	}
	p.Kind = k
	return p, nil
}

// plasticity is the benchmark's learning on the recurrent weights of p.
func plasticity[T backend.Float](pl Plastic, p *backend.Program[T]) *backend.Plasticity[T] {
	K := p.Instances
	rate := make([]T, K)
	for k := range rate {
		rate[k] = T(1e-4)
	}
	r := backend.Rule[T]{Kind: pl.Kind, Rate: rate, PreWeight: 1, PostWeight: 1,
		Optimizer: pl.Optimizer, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}
	if pl.Kind == backend.BCM || pl.Kind == backend.Covariance {
		r.Average = backend.Average[T]{Coef: T(0.01)}
	}
	return &backend.Plasticity[T]{
		Recurrent: &backend.Connection[T]{Rules: []backend.Rule[T]{r}, Bounded: true, Min: -1, Max: 1},
		PerTrial:  pl.PerTrial,
	}
}

// PairPlastic pairs each plastic result with the static one of the same
// size measured last before it (results in measurement order).
func PairPlastic(rs []Result) [][2]Result {
	last := map[Size]Result{}
	var pairs [][2]Result
	for _, r := range rs {
		sz := Size{N: r.N, B: r.B, K: r.Instances()}
		if r.Plastic == "" {
			last[sz] = r
			continue
		}
		if s, ok := last[sz]; ok {
			pairs = append(pairs, [2]Result{s, r})
		}
	}
	return pairs
}

// WritePlasticTable prints each (static, plastic) pair: µs per step and
// their ratio.
func WritePlasticTable(w io.Writer, pairs [][2]Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "size\trule\tstatic µs/step\tplastic µs/step\tplastic/static\t\n")
	for _, sp := range pairs {
		s, p := sp[0], sp[1]
		fmt.Fprintf(tw, "%v\t%s\t%.2f\t%.2f\t%.2fx\t\n", Size{N: p.N, B: p.B, K: p.K}, p.Plastic, s.MedianUS, p.MedianUS, p.MedianUS/s.MedianUS)
	}
	tw.Flush()
}

package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// plasticImpls returns the implementations of the plastic pass this CPU
// runs.
func plasticImpls() []plasticImpl {
	var ps []plasticImpl
	for p := plasticGo; p <= plasticAVX512; p++ {
		if plasticAvailable(p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// withPlasticPath runs f with the plastic pass forced onto p.
func withPlasticPath(t testing.TB, p plasticImpl, f func()) {
	t.Helper()
	old := plasticPath.Swap(int32(p))
	defer plasticPath.Store(old)
	f()
}

// TestUpdateSynapses holds updateSynapses to backend.Step.UpdateSynapses
// bit for bit (weights, Adam state, the finiteness report) on every
// implementation, in both precisions, over random rules and constraints,
// gates, scales with zeros, and operands with both zeros, infinities, NaNs
// of several payloads and subnormals; split into parts and not.
func TestUpdateSynapses(t *testing.T) {
	testUpdateSynapses[float32](t)
	testUpdateSynapses[float64](t)
}

func testUpdateSynapses[T backend.Float](t *testing.T) {
	var z T
	name := fmt.Sprintf("%T", z)
	r := rand.New(rand.NewPCG(21, 22))
	defer func(w int) { synMinWork = w }(synMinWork)
	for n := 0; n < 400; n++ {
		a, b := 1+r.IntN(9), []int{1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 40}[r.IntN(12)]
		K := 2
		k := r.IntN(K)
		pSpecial := []float64{0, 0, 0.01, 0.2}[r.IntN(4)]
		rule := backend.Rule[T]{Kind: backend.Hebbian, Rate: []T{T(r.Float64()), T(r.Float64())}}
		if r.IntN(4) == 0 {
			rule.Rate[k] = 1e30 // overflows
		}
		if r.IntN(2) == 0 {
			rule.SoftBound = T(0.5 + r.Float64())
		}
		if r.IntN(3) == 0 {
			rule.L1 = T(r.NormFloat64() * 0.1)
		}
		if r.IntN(3) == 0 {
			rule.L2 = T(r.NormFloat64() * 0.1)
		}
		rule.Negate = r.IntN(2) == 0
		rule.FlipInhibitory = r.IntN(2) == 0
		if r.IntN(2) == 0 {
			rule.Optimizer = backend.Adam
			rule.Beta1, rule.Beta2, rule.Epsilon = 0.9, 0.999, 1e-8
		}
		c := &backend.Connection[T]{Rules: []backend.Rule[T]{rule}, FreezeZero: r.IntN(3) == 0, Bounded: r.IntN(2) == 0}
		if c.Bounded {
			c.Min, c.Max = T(-r.Float64()), T(r.Float64())
			if r.IntN(3) == 0 {
				c.Min = 0
			}
		}
		if r.IntN(2) == 0 {
			c.Scale = make([]T, K*a*b)
			for x := range c.Scale {
				if r.IntN(4) != 0 {
					c.Scale[x] = T(r.Float64())
				}
			}
		}
		if r.IntN(2) == 0 {
			c.Sign = make([]int8, K*a)
			for x := range c.Sign {
				c.Sign[x] = int8(r.IntN(3) - 1)
			}
		}
		preOK, postOK := make([]bool, a), make([]bool, b)
		for j := range preOK {
			preOK[j] = r.IntN(6) != 0
		}
		for i := range postOK {
			postOK[i] = r.IntN(6) != 0
		}
		ld := b + r.IntN(3)
		h, W := make([]T, a*b), make([]T, a*ld)
		for x := range h {
			h[x] = special[T](r, pSpecial)
		}
		for x := range W {
			W[x] = special[T](r, pSpecial) * 0.5
		}
		var m, v []T
		if rule.Optimizer == backend.Adam {
			m, v = make([]T, a*b), make([]T, a*b)
			for x := range m {
				m[x], v[x] = T(r.NormFloat64()*0.01), T(r.Float64()*0.01)
			}
		}
		steps := backend.NewSteps(c)
		for range 1 + r.IntN(3) {
			steps[0].Advance()
		}
		// Half the cases are one trial's outer product, formed by the
		// kernels (and outerTerms where Go needs it).
		var A, C []T
		if r.IntN(2) == 0 {
			A, C = make([]T, a), make([]T, b)
			fillSpecial(r, pSpecial, A, C)
			outerTerms(A, C, h, b, 0, a, 0, b)
		}
		wantW, wantM, wantV := append([]T(nil), W...), append([]T(nil), m...), append([]T(nil), v...)
		wantOK := steps[0].UpdateSynapses(c, k, preOK, postOK, h, wantW, ld, wantM, wantV)
		for _, p := range plasticImpls() {
			for _, work := range []int{1 << 30, 1} {
				synMinWork = work
				gotW, gotM, gotV := append([]T(nil), W...), append([]T(nil), m...), append([]T(nil), v...)
				var gotOK bool
				hh := h
				if A != nil {
					hh = make([]T, a*b) // scratch: what the Go code needs of it
					for x := range hh {
						hh[x] = 7
					}
				}
				withPlasticPath(t, p, func() {
					gotOK = updateSynapses(&steps[0], c, k, preOK, postOK, hh, gotW, ld, gotM, gotV, A, C, newSynScratch[T](a, b, 1), 4)
				})
				where := fmt.Sprintf("%s %v case %d (%d × %d, ld %d, parts of %d, outer %v)", name, p, n, a, b, ld, work, A != nil)
				if gotOK != wantOK {
					t.Fatalf("%s: finite = %v, want %v", where, gotOK, wantOK)
				}
				for _, arr := range []struct {
					what      string
					got, want []T
				}{{"W", gotW, wantW}, {"m", gotM, wantM}, {"v", gotV, wantV}} {
					for x := range arr.want {
						if backendtest.Bits(arr.got[x]) != backendtest.Bits(arr.want[x]) {
							t.Fatalf("%s: %s[%d] = %v (%#x), want %v (%#x)", where, arr.what, x,
								arr.got[x], backendtest.Bits(arr.got[x]), arr.want[x], backendtest.Bits(arr.want[x]))
						}
					}
				}
			}
		}
	}
}

// TestOjaTerms holds ojaTerms to the Go loop it replaced (ojaTermsGo) on
// every implementation, with special operands, and that loop to the
// reference's sum of backend.OjaTerm (trials outermost) wherever the sum is
// not NaN (a NaN's payload depends on how the compiler orders a product's
// operands; the reference and the CPU backend's loop are compiled apart).
func TestOjaTerms(t *testing.T) {
	testOjaTerms[float32](t)
	testOjaTerms[float64](t)
}

func testOjaTerms[T backend.Float](t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	defer func(w int) { synMinWork = w }(synMinWork)
	for n := 0; n < 200; n++ {
		a, b, nt := 1+r.IntN(9), []int{1, 4, 8, 15, 16, 17, 33, 40}[r.IntN(8)], r.IntN(6)
		pSpecial := []float64{0, 0.01, 0.1}[r.IntN(3)]
		ld := b + r.IntN(3)
		pre, pst, W := make([]T, nt*a), make([]T, nt*b), make([]T, a*ld)
		fillSpecial(r, pSpecial, pre, pst, W)
		// want is the CPU backend's loop before the kernels (ojaTermsGo,
		// kept as it was): its NaN payloads are the ones to keep. Elsewhere
		// it equals the reference's spelling of the sum bit for bit.
		want, ref := make([]T, a*b), make([]T, a*b)
		ojaTermsGo(a, b, nt, pre, pst, want, W, ld)
		for x := 0; x < nt; x++ {
			for j := 0; j < a; j++ {
				for i := 0; i < b; i++ {
					ref[j*b+i] = ref[j*b+i] + backend.OjaTerm(pre[x*a+j], pst[x*b+i], W[j*ld+i])
				}
			}
		}
		for x := range ref {
			if w, r := want[x], ref[x]; (w != w) != (r != r) || w == w && backendtest.Bits(w) != backendtest.Bits(r) {
				t.Fatalf("%T case %d: ojaTermsGo h[%d] = %v, the reference's sum %v", w, n, x, w, r)
			}
		}
		for _, p := range plasticImpls() {
			for _, work := range []int{1 << 30, 1} {
				synMinWork = work
				got := make([]T, a*b)
				for x := range got {
					got[x] = 7 // overwritten
				}
				withPlasticPath(t, p, func() { ojaTerms(a, b, nt, pre, pst, got, W, ld, 4) })
				for x := range want {
					if backendtest.Bits(got[x]) != backendtest.Bits(want[x]) {
						t.Fatalf("%T %v case %d (%d × %d, %d trials): h[%d] = %v, want %v", got[x], p, n, a, b, nt, x, got[x], want[x])
					}
				}
			}
		}
	}
}

// TestConformanceVectorPaths runs the Dynamics and Plasticity entry points
// with the plastic pass and the float32 relu unit step forced onto every
// implementation other than the best (which the default runs cover).
func TestConformanceVectorPaths(t *testing.T) {
	for _, p := range plasticImpls() {
		if p == bestPlastic() {
			continue
		}
		t.Run(p.String(), func(t *testing.T) {
			old := unitPath.Swap(int32(p))
			defer unitPath.Store(old)
			withPlasticPath(t, p, func() {
				t.Run("Dynamics", func(t *testing.T) { backendtest.Dynamics(t, New(Workers(3), TrialBlock(2))) })
				t.Run("Plasticity", func(t *testing.T) { backendtest.Plasticity(t, New(Workers(3), TrialBlock(2))) })
			})
		})
	}
}

// TestConformanceSplit runs the Plasticity entry point with every task's
// unit step and plastic pass split into parts however small (the default
// thresholds leave the suite's small programs whole).
func TestConformanceSplit(t *testing.T) {
	defer func(u, s int) { unitMinWork, synMinWork = u, s }(unitMinWork, synMinWork)
	unitMinWork, synMinWork = 1, 1
	backendtest.Plasticity(t, New(Workers(4)))
}

// BenchmarkUpdateSynapses measures the plastic pass on one 256 × 256
// matrix (SGD, bounds; and Adam with a soft bound) on every implementation
// and on backend.Step.UpdateSynapses, on one core.
func BenchmarkUpdateSynapses(b *testing.B) {
	const a, n = 256, 256
	for _, adam := range []bool{false, true} {
		rule := backend.Rule[float32]{Kind: backend.Hebbian, Rate: []float32{1e-4}}
		if adam {
			rule.Optimizer, rule.Beta1, rule.Beta2, rule.Epsilon, rule.SoftBound = backend.Adam, 0.9, 0.999, 1e-8, 1
		}
		c := &backend.Connection[float32]{Rules: []backend.Rule[float32]{rule}, Bounded: true, Min: -1, Max: 1}
		steps := backend.NewSteps(c)
		steps[0].Advance()
		preOK, postOK := make([]bool, a), make([]bool, n)
		for i := range preOK {
			preOK[i] = true
		}
		for i := range postOK {
			postOK[i] = true
		}
		r := rand.New(rand.NewPCG(1, 2))
		h, W, m, v := make([]float32, a*n), make([]float32, a*n), make([]float32, a*n), make([]float32, a*n)
		for i := range h {
			h[i], W[i] = float32(r.NormFloat64()), float32(r.NormFloat64()*0.1)
		}
		name := "sgd"
		if adam {
			name = "adam"
		}
		b.Run(name+"/backend", func(b *testing.B) {
			for range b.N {
				steps[0].UpdateSynapses(c, 0, preOK, postOK, h, W, n, m, v)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(a*n), "ns/synapse")
		})
		for _, p := range plasticImpls() {
			b.Run(name+"/"+p.String(), func(b *testing.B) {
				s := newSynScratch[float32](a, n, 1)
				withPlasticPath(b, p, func() {
					for range b.N {
						updateSynapses(&steps[0], c, 0, preOK, postOK, h, W, n, m, v, nil, nil, s, 1)
					}
				})
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(a*n), "ns/synapse")
			})
		}
	}
}

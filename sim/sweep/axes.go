package sweep

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// MaxAxisValues bounds one axis, so that a typo in a count fails at once.
const MaxAxisValues = 1 << 20

// axisValues generates an axis's values. Random axes draw from a PCG
// stream of (seed, axis index) — math/rand/v2's PCG is specified, so a
// sweep's samples are the same everywhere. Halton axes are not random: the
// h-th halton axis of a sweep is dimension h of the Halton sequence (base
// the h-th prime, points 1 … count), so zipped halton axes form one Halton
// design. (gonum's stat/samplemv has both designs, but it imports
// stat/distmv, which pulls golang.org/x/tools into the module; the two
// designs are a few lines each.)
func axisValues(a *Axis, seed uint64, index int, haltons *int) ([]*yaml.Node, error) {
	given := 0
	for _, on := range []bool{a.Values != nil, a.Linspace != nil, a.Logspace != nil, a.Sample != ""} {
		if on {
			given++
		}
	}
	if given != 1 {
		return nil, fmt.Errorf("give exactly one of values, linspace, logspace and sample")
	}
	if a.Sample == "" && (a.Low != nil || a.High != nil || a.Mean != nil || a.Std != nil || a.Count != 0) {
		return nil, fmt.Errorf("low, high, mean, std and count belong to sample")
	}
	if a.Values != nil {
		if len(a.Values) == 0 {
			return nil, fmt.Errorf("values is empty")
		}
		out := make([]*yaml.Node, len(a.Values))
		for i := range a.Values {
			out[i] = &a.Values[i]
		}
		return out, nil
	}
	var xs []float64
	var err error
	switch {
	case a.Linspace != nil:
		xs, err = spaced(a.Linspace, false)
	case a.Logspace != nil:
		xs, err = spaced(a.Logspace, true)
	default:
		xs, err = sample(a, seed, index, haltons)
	}
	if err != nil {
		return nil, err
	}
	out := make([]*yaml.Node, len(xs))
	for i, x := range xs {
		out[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(x, 'g', -1, 64)}
	}
	return out, nil
}

// spaced is linspace or logspace [a, b, n], whose first and last values
// are a and b exactly and the others rounded to 15 significant digits.
func spaced(abn []float64, log bool) ([]float64, error) {
	name := "linspace"
	if log {
		name = "logspace"
	}
	if len(abn) != 3 {
		return nil, fmt.Errorf("%s must be [first, last, count], got %d numbers", name, len(abn))
	}
	a, b, fn := abn[0], abn[1], abn[2]
	n := int(fn)
	if float64(n) != fn || n < 1 || n > MaxAxisValues {
		return nil, fmt.Errorf("%s's count must be a whole number in 1 … %d, got %v", name, MaxAxisValues, fn)
	}
	if !finite(a) || !finite(b) {
		return nil, fmt.Errorf("%s's ends must be finite, got %v and %v", name, a, b)
	}
	if log && (a <= 0 || b <= 0) {
		return nil, fmt.Errorf("logspace's ends must be > 0, got %v and %v", a, b)
	}
	if n == 1 {
		if a != b {
			return nil, fmt.Errorf("%s with count 1 needs first = last, got %v and %v", name, a, b)
		}
		return []float64{a}, nil
	}
	xs := make([]float64, n)
	for i := range xs {
		f := float64(i) / float64(n-1)
		if log {
			xs[i] = math.Exp(math.Log(a) + f*(math.Log(b)-math.Log(a)))
		} else {
			xs[i] = a + f*(b-a)
		}
		// Rounded to 15 significant digits, so that linspace [0, 0.3, 4]
		// is 0, 0.1, 0.2, 0.3 as a person writes them, not
		// 0.09999999999999999 (what 0.3/3 rounds to).
		xs[i], _ = strconv.ParseFloat(strconv.FormatFloat(xs[i], 'g', 15, 64), 64)
	}
	xs[0], xs[n-1] = a, b
	return xs, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// sample draws a sampled axis's values.
func sample(a *Axis, seed uint64, index int, haltons *int) ([]float64, error) {
	n := a.Count
	if n < 1 || n > MaxAxisValues {
		return nil, fmt.Errorf("sample needs count in 1 … %d, got %d", MaxAxisValues, n)
	}
	if a.Sample == "normal" {
		if a.Mean == nil || a.Std == nil || a.Low != nil || a.High != nil {
			return nil, fmt.Errorf("sample normal takes mean and std (not low and high)")
		}
		if !finite(*a.Mean) || !finite(*a.Std) || *a.Std < 0 {
			return nil, fmt.Errorf("sample normal needs a finite mean and a finite std ≥ 0")
		}
		r := rand.New(rand.NewPCG(seed, uint64(index)))
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = *a.Mean + *a.Std*r.NormFloat64()
		}
		return xs, nil
	}
	if a.Low == nil || a.High == nil || a.Mean != nil || a.Std != nil {
		return nil, fmt.Errorf("sample %s takes low and high (not mean and std)", a.Sample)
	}
	lo, hi := *a.Low, *a.High
	if !finite(lo) || !finite(hi) || lo > hi {
		return nil, fmt.Errorf("sample %s needs finite low ≤ high, got %v and %v", a.Sample, lo, hi)
	}
	// u holds n numbers in [0, 1).
	u := make([]float64, n)
	switch a.Sample {
	case "uniform", "loguniform":
		r := rand.New(rand.NewPCG(seed, uint64(index)))
		for i := range u {
			u[i] = r.Float64()
		}
	case "lhs":
		// Stratum perm[i] of n, at a uniform place inside it: every
		// stratum holds exactly one value, in random order (zipped lhs
		// axes, independently permuted, form a Latin hypercube).
		r := rand.New(rand.NewPCG(seed, uint64(index)))
		perm := r.Perm(n)
		for i := range u {
			u[i] = (float64(perm[i]) + r.Float64()) / float64(n)
		}
	case "halton":
		base := primes[*haltons%len(primes)]
		*haltons++
		for i := range u {
			u[i] = radicalInverse(i+1, base)
		}
	default:
		return nil, fmt.Errorf("unknown sample %q (want uniform, loguniform, normal, lhs or halton)", a.Sample)
	}
	xs := make([]float64, n)
	if a.Sample == "loguniform" {
		if lo <= 0 {
			return nil, fmt.Errorf("sample loguniform needs low > 0, got %v", lo)
		}
		for i, v := range u {
			xs[i] = math.Min(hi, math.Exp(math.Log(lo)+v*(math.Log(hi)-math.Log(lo))))
		}
		return xs, nil
	}
	for i, v := range u {
		xs[i] = math.Min(hi, lo+v*(hi-lo))
	}
	return xs, nil
}

// primes are the Halton sequence's bases, one per halton axis.
var primes = []int{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53}

// radicalInverse is i's digits in base b mirrored about the point: the
// i-th number of the van der Corput sequence in base b, in (0, 1).
func radicalInverse(i, b int) float64 {
	x, f := 0.0, 1/float64(b)
	for ; i > 0; i /= b {
		x += float64(i%b) * f
		f /= float64(b)
	}
	return x
}

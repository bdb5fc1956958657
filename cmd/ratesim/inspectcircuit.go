package main

import (
	"fmt"
	"io"
	"math"
	"math/cmplx"

	"github.com/ratesim/ratesim/sim/circuit"
	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/spec"
)

// inspectCircuit is `ratesim inspect` of a circuit file (or built-in
// circuit): its populations and, for the network it runs (network 0 of its
// seed, or its network file), each population pair's in-degree and mean
// weight, the synapse count and the normalization with the eigenvalues
// after it. ok is false when the input is not a circuit.
func inspectCircuit(pos []string, example string, stdout io.Writer) (ok bool, err error) {
	if len(pos) == 1 && example != "" {
		return false, nil // cmdInspect refuses both
	}
	c, source, ok, err := readCircuit(pos, example)
	if !ok || err != nil {
		return ok, err
	}
	p, err := circuit.FromSpec(c)
	if err != nil {
		return true, err
	}
	var net *circuit.L5Network
	which := fmt.Sprintf("network 0 of seed %d", c.Seed)
	if path := c.NetworkPath(); path != "" {
		which = "the network of " + path
		if net, err = p.LoadNetwork(path); err != nil {
			return true, &spec.Error{File: c.File(), Field: "network.file", Reason: err.Error()}
		}
	} else if net, err = p.Network(c.Seed, 0); err != nil {
		return true, &spec.Error{File: c.File(), Field: "connectivity", Reason: err.Error()}
	}
	n, P := p.Units(), len(p.Populations)
	fmt.Fprintf(stdout, "%s: circuit %s, %d units in %d populations\n", source, c.Circuit, n, P)
	fmt.Fprintf(stdout, "%-10s %6s %4s %s\n", "population", "size", "sign", "units")
	for q, pop := range p.Populations {
		sign := map[bool]string{true: "E", false: "I"}[pop.Sign > 0]
		fmt.Fprintf(stdout, "%-10s %6d %4s %d–%d\n", pop.Name, pop.Size, sign, net.Offsets[q], net.Offsets[q+1]-1)
	}
	fmt.Fprintf(stdout, "\n%s: W (post × pre) as the run starts\n", which)
	fmt.Fprintf(stdout, "%-12s %8s %8s %10s %12s %12s\n", "pre → post", "prob", "in-deg", "synapses", "mean weight", "target mean")
	synapses := 0
	for a := range P {
		for b := range P {
			cnt, sum := 0, 0.0
			for i := net.Offsets[b]; i < net.Offsets[b+1]; i++ {
				for j := net.Offsets[a]; j < net.Offsets[a+1]; j++ {
					if w := net.W[i*n+j]; w != 0 {
						cnt++
						sum += w
					}
				}
			}
			synapses += cnt
			mean := math.NaN()
			if cnt > 0 {
				mean = sum / float64(cnt)
			}
			indeg := "—"
			if net.InDegree != nil {
				indeg = fmt.Sprint(net.InDegree[a][b])
			}
			target := p.WTarget[a][b] / net.Scale
			fmt.Fprintf(stdout, "%-12s %8.3g %8s %10d %12.4g %12.4g\n", p.Populations[a].Name+" → "+p.Populations[b].Name, p.Prob[a][b], indeg, cnt, mean, target)
		}
	}
	fmt.Fprintf(stdout, "%d synapses, density %.4f\n", synapses, float64(synapses)/float64(n*n))
	ev, err := connect.Eigenvalues(net.W, n)
	if err != nil {
		return true, err
	}
	maxRe, radius := math.Inf(-1), 0.0
	for _, v := range ev {
		maxRe, radius = math.Max(maxRe, real(v)), math.Max(radius, cmplx.Abs(v))
	}
	norm := map[string]string{connect.NormalizeMaxReal: "divided by its largest real eigenvalue part",
		connect.NormalizeSpectralRadius: "divided by its spectral radius", connect.NormalizeNone: "not normalized"}[p.Normalize]
	if c.NetworkPath() != "" {
		norm = "as the file gives it"
	}
	fmt.Fprintf(stdout, "normalization: W %s (the drawn W was divided by %.6g); now max Re λ = %.6g, spectral radius %.6g\n", norm, net.Scale, maxRe, radius)
	return true, nil
}

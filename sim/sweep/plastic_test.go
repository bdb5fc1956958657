package sweep

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/spec"
)

const plasticSweep = `
base:
  dims: [2, 10, 2]
  activation: tanh
  weights: normal
  preact_noise: 0.1
  input: {type: sine, amplitude: 1, period: 200}
  trials: 2
  steps: 40
  backend: reference
  plasticity:
    weights: WEIGHTS
    recurrent:
      rules: [{rule: hebbian, eta: 0.01}, {rule: bcm, eta: 0.002, threshold: {tau: 50}}]
      bounds: [-1, 1]
axes:
  - {path: "plasticity.recurrent.rules[0].eta", values: [0, 0.01, 0.05]}
  - {path: tau, values: [30, 80]}
  - {path: "plasticity.recurrent.rules[1].threshold.tau", values: [50, 100]}
metrics:
  - {metric: mean, of: rates}
  - {metric: std, of: outputs}
  - {metric: final_weight_mean, pre: [0, 5], post: [5, 10]}
  - {metric: final_weight_std}
`

// Plastic points sweep like static ones: points that differ in η (and τ)
// pack as instances of one program (η per instance), points whose rules
// differ otherwise (BCM's threshold time constant) run as separate
// programs, and every point's recordings and final state are those of the
// point run alone, bit for bit, with shared and with per-trial weights.
func TestPlasticPointAloneEqualsPointInSweep(t *testing.T) {
	for _, weights := range []string{"shared", "per_trial"} {
		t.Run(weights, func(t *testing.T) {
			sw := parse(t, strings.Replace(plasticSweep, "WEIGHTS", weights, 1))
			require.Len(t, sw.Points, 12)
			groups := groupsOf(sw)
			require.Len(t, groups, 2, "one program per BCM threshold τ")
			require.Len(t, groups[0], 6)
			for _, cp := range []int{0, 4} {
				rows, recs := runSweepCalls(t, sw, cp, 7)
				stds := map[float64]bool{}
				for _, r := range rows {
					stds[r.Metrics[3]] = true
				}
				require.Greater(t, len(stds), 6, "the weights learn differently with η")
				if cp == 0 {
					res, err := Run(context.Background(), sw, Options{})
					require.NoError(t, err)
					assert.Len(t, res.Chunks, 2, "the 12 points in 2 programs")
				}
				b, err := backend.Lookup("reference")
				require.NoError(t, err)
				for _, p := range sw.Points {
					s, err := spec.Parse(filepath.Join(filepath.Dir(sw.File), "point.yaml"), p.YAML)
					require.NoError(t, err)
					yes := true
					s.Record.Rates, s.Record.States, s.Record.Outputs = &yes, &yes, &yes
					res, err := sim.Simulate[float32](context.Background(), s, b, sim.Options{ChunkSteps: 9})
					require.NoError(t, err)
					B, M, N := s.Trials, s.Steps, s.Dims[1]
					for bb := 0; bb < B; bb++ {
						for j := 0; j < M; j++ {
							want := f64(res.Rates[(bb*M+j)*N : (bb*M+j+1)*N])
							require.Equal(t, bits(want), bits(recs[p.Index][[2]int{bb, j + 1}][0]), "chunk_points %d, point %d trial %d step %d: rates", cp, p.Index, bb, j+1)
						}
					}
					assert.Equal(t, bits(f64(res.FinalState)), bits(rows[p.Index].FinalState), "chunk_points %d, point %d: final state", cp, p.Index)
					// The weight metrics from the point's own final
					// recurrent weights, (matrices, post, pre).
					W := res.FinalWeights[0]
					mx := len(W) / (N * N)
					block := func(pre0, pre1, post0, post1 int) (mean, std float64) {
						var sum, n float64
						for m := 0; m < mx; m++ {
							for j := pre0; j < pre1; j++ {
								for i := post0; i < post1; i++ {
									sum += float64(W[(m*N+i)*N+j])
									n++
								}
							}
						}
						mean = sum / n
						var ss float64
						for m := 0; m < mx; m++ {
							for j := pre0; j < pre1; j++ {
								for i := post0; i < post1; i++ {
									d := float64(W[(m*N+i)*N+j]) - mean
									ss += d * d
								}
							}
						}
						return mean, math.Sqrt(ss / n)
					}
					mean, _ := block(0, 5, 5, 10)
					_, std := block(0, N, 0, N)
					require.Equal(t, math.Float64bits(mean), math.Float64bits(rows[p.Index].Metrics[2]), "point %d: final_weight_mean", p.Index)
					require.Equal(t, math.Float64bits(std), math.Float64bits(rows[p.Index].Metrics[3]), "point %d: final_weight_std", p.Index)
				}
			}
		})
	}
}

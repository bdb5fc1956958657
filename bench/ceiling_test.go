package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tables compare with torch.mm's rate when it was measured, else with
// the exact product's; a replay keeps ceilings out of the peer columns.
func TestCeilingsInReplay(t *testing.T) {
	exact := Result{Peer: CeilingExact, Backend: "cpu", Dtype: "f32", N: CeilingN, B: CeilingN, GFLOPS: 80, MedianUS: 2e5}
	torch := Result{Peer: CeilingTorch, Dtype: "f32", N: CeilingN, B: CeilingN, GFLOPS: 100, MedianUS: 1.7e5}
	var buf bytes.Buffer
	assert.Equal(t, 80.0, WriteCeilings(&buf, []Result{exact}))
	assert.Equal(t, 100.0, WriteCeilings(&buf, []Result{exact, torch}))
	assert.Equal(t, 100.0, WriteCeilings(&buf, []Result{torch, exact}))

	ours := Result{Peer: "ratesim", Backend: "cpu", Device: "d", N: 1024, B: 32, GFLOPS: 75, MedianUS: 100, Noise: true}
	loop := Result{Peer: "torch-loop", N: 1024, B: 32, GFLOPS: 50, MedianUS: 160, Noise: true}
	js := filepath.Join(t.TempDir(), "r.jsonl")
	var lines []string
	for _, r := range []Result{exact, torch, ours, loop} {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		lines = append(lines, string(b))
	}
	require.NoError(t, os.WriteFile(js, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	buf.Reset()
	require.NoError(t, Replay([]string{js}, TableOptions{}, &buf))
	out := buf.String()
	flat := strings.Join(strings.Fields(out), " ")
	assert.Contains(t, out, "torch.mm (FMA BLAS)")
	assert.NotContains(t, out, "| ceiling:", "a ceiling is not a peer column")
	assert.Contains(t, out, "75.0%", "75 GFLOP/s against torch.mm's 100")
	assert.Contains(t, flat, "N=1024 B=32 vs torch-loop 1.60x (goal ≥ 1.5x) met")
	assert.Contains(t, flat, "N=1024 B=32 75.0% of the ceiling (100 GFLOP/s) (goal ≥ 70%) met")
}

// With noise off, a loop at two thirds of the ceiling or more only needs
// to be matched within 10 %.
func TestCPUGoalsNoiseOff(t *testing.T) {
	ours := []Result{{Peer: "ratesim", N: 2048, B: 32, GFLOPS: 60, MedianUS: 110}, {Peer: "ratesim", N: 256, B: 1, GFLOPS: 5, MedianUS: 100}}
	peers := []Result{{Peer: "torch-loop", N: 2048, B: 32, GFLOPS: 90, MedianUS: 100}, {Peer: "torch-loop", N: 256, B: 1, GFLOPS: 4, MedianUS: 140}}
	var buf bytes.Buffer
	CPUGoals(&buf, ours, peers, 100)
	flat := strings.Join(strings.Fields(buf.String()), " ")
	assert.Contains(t, flat, "N=2048 B=32 vs torch-loop 0.91x (goal ≥ 0.9x, the loop at the ceiling) met")
	assert.Contains(t, flat, "N=2048 B=32 60.0% of the ceiling (100 GFLOP/s) (goal ≥ 70%) NOT met")
	assert.Contains(t, flat, "N=256 B=1 vs torch-loop 1.40x (goal ≥ 1.5x) NOT met")
}

func TestTorchMMMissing(t *testing.T) {
	_, err := MeasureTorchMM(context.Background(), "/nonexistent/python3", quick(), "cpu")
	var me *MissingError
	assert.True(t, errors.As(err, &me), "%v", err)
}

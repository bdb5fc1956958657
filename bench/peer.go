package bench

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed peers/*.py
var peerScripts embed.FS

// DefaultPython is the interpreter the peers run with: Debian's, which has
// python3-torch. RATESIM_PYTHON overrides it.
func DefaultPython() string {
	if p := os.Getenv("RATESIM_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// RunPeer runs a peer script (e.g. "torch_ctrnn.py") for the given sizes
// and returns its JSON results. The scripts are written from the binary to a
// temporary directory, so this works wherever ratesim runs.
func RunPeer(ctx context.Context, python, script string, cfg Config, sizes []Size, device string) ([]Result, error) {
	dir, err := os.MkdirTemp("", "ratesim-peers-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	entries, err := peerScripts.ReadDir("peers")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, _ := peerScripts.ReadFile("peers/" + e.Name())
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			return nil, err
		}
	}
	var ss []string
	for _, s := range sizes {
		ss = append(ss, fmt.Sprintf("%dx%d", s.N, s.B))
	}
	noise := "off"
	if cfg.Noise {
		noise = "on"
	}
	args := []string{filepath.Join(dir, script), "--json", "--device", device, "--dtype", cfg.Precision.String(),
		"--sizes", strings.Join(ss, ","), "--inputs", fmt.Sprint(cfg.Inputs), "--outputs", fmt.Sprint(cfg.Outputs),
		"--noise", noise, "--act", cfg.Activation, "--reps", fmt.Sprint(cfg.Reps)}
	cmd := exec.CommandContext(ctx, python, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("peer %s with %s failed: %v\n%s", script, python, err, strings.TrimSpace(stderr.String()))
	}
	var res []Result
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("peer %s printed a line that is not a result: %q: %v", script, line, err)
		}
		r.Noise = cfg.Noise
		res = append(res, r)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("peer %s printed no results", script)
	}
	return res, nil
}

package bench

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

//go:embed peers/*.py
var peerScripts embed.FS

// Peers maps the names `ratesim bench --peers` takes to the embedded
// scripts; PeerNames is their order.
var (
	Peers     = map[string]string{"torch": "torch_ctrnn.py", "jax": "jax_ctrnn.py"}
	PeerNames = []string{"torch", "jax"}
)

// ExitMissing is the status a peer script exits with when its framework is
// not installed (the scripts' contract, _peer_common.EXIT_MISSING).
const ExitMissing = 3

// DefaultPython is the interpreter the peers run with: Debian's, which has
// python3-torch. RATESIM_PYTHON overrides it.
func DefaultPython() string {
	if p := os.Getenv("RATESIM_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// MissingError says that a peer cannot run here at all: the interpreter is
// missing, the script is not one of the embedded ones, or the framework is
// not installed for that interpreter. It is not a failure of the peer; the
// bench reports it and goes on.
type MissingError struct {
	Script, Python, Reason string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("peer %s cannot run with %s: %s", e.Script, e.Python, e.Reason)
}

// RunPeer runs a peer script (e.g. "torch_ctrnn.py") for the given sizes
// and returns its results. The scripts are written from the binary to a
// temporary directory, so this works wherever ratesim runs. Sizes with K > 1
// are run with --sweep K, one invocation per distinct K. On an error the
// results gathered so far come back with it; a *MissingError means the peer
// cannot run here.
func RunPeer(ctx context.Context, python, script string, cfg Config, sizes []Size, device string) ([]Result, error) {
	if _, err := peerScripts.ReadFile("peers/" + script); err != nil {
		var have []string
		for _, s := range Peers {
			have = append(have, s)
		}
		sort.Strings(have)
		return nil, &MissingError{script, python, fmt.Sprintf("no such peer script (the binary has %s)", strings.Join(have, ", "))}
	}
	if _, err := exec.LookPath(python); err != nil {
		return nil, &MissingError{script, python, fmt.Sprintf("the interpreter is not there (%v); --python or RATESIM_PYTHON names another", err)}
	}
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
	// Group the sizes by K, in order of first appearance.
	var ks []int
	byK := map[int][]Size{}
	for _, s := range sizes {
		k := s.Instances()
		if _, ok := byK[k]; !ok {
			ks = append(ks, k)
		}
		byK[k] = append(byK[k], s)
	}
	var all []Result
	var errs []error
	for _, k := range ks {
		res, err := runPeerOnce(ctx, python, dir, script, cfg, byK[k], k, device)
		all = append(all, res...)
		if err != nil {
			var me *MissingError
			if errors.As(err, &me) || ctx.Err() != nil {
				return all, err
			}
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

func runPeerOnce(ctx context.Context, python, dir, script string, cfg Config, sizes []Size, k int, device string) ([]Result, error) {
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
		"--noise", noise, "--act", cfg.Activation, "--reps", fmt.Sprint(max(cfg.Reps, 1))}
	if cfg.RepTime > 0 {
		args = append(args, "--rep-time", fmt.Sprint(cfg.RepTime.Seconds()))
	}
	if k > 1 {
		args = append(args, "--sweep", fmt.Sprint(k))
	}
	what := script
	if k > 1 {
		what = fmt.Sprintf("%s --sweep %d", script, k)
	}
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	res, perr := parsePeerOutput(what, out, cfg)
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		var ee *exec.ExitError
		switch {
		case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
			return res, &MissingError{script, python, err.Error()}
		case errors.As(err, &ee) && ee.ExitCode() == ExitMissing:
			return res, &MissingError{script, python, strings.Join(strings.Fields(lastLines(msg, 3)), " ")}
		case ctx.Err() != nil:
			return res, fmt.Errorf("peer %s stopped after %d results: %v\n%s", what, len(res), ctx.Err(), lastLines(msg, 20))
		}
		return res, fmt.Errorf("peer %s with %s failed after %d results: %v\n%s", what, python, len(res), err, lastLines(msg, 40))
	}
	if perr != nil {
		return res, perr
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("peer %s printed no results\n%s", what, lastLines(strings.TrimSpace(stderr.String()), 20))
	}
	return res, nil
}

func parsePeerOutput(what string, out []byte, cfg Config) ([]Result, error) {
	var res []Result
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return res, fmt.Errorf("peer %s printed a line that is not a result: %q: %v", what, line, err)
		}
		r.Noise = cfg.Noise
		res = append(res, r)
	}
	return res, nil
}

// ReferenceBLAS returns the first of results whose peer ran on the
// unblocked reference BLAS (Debian's libblas3, which torch falls back to
// when no optimized BLAS is installed: roughly 10× slower than what users
// run, which would flatter every ratio against it), or nil.
func ReferenceBLAS(results []Result) *Result {
	for i, r := range results {
		for _, lib := range strings.Split(r.BLAS, ",") {
			if strings.Contains(lib, "/blas/libblas.so") {
				return &results[i]
			}
		}
	}
	return nil
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = append([]string{"…"}, l[len(l)-n:]...)
	}
	return strings.Join(l, "\n")
}

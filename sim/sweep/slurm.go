package sweep

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Slurm says how `ratesim sweep --slurm` runs a sweep on a Slurm cluster:
// a job array of one task per shard and a merge job after it.
type Slurm struct {
	// Program is the ratesim the jobs run (an absolute path).
	Program string
	// Args are the sweep's arguments for every shard (the sweep file or
	// --example NAME, --out DIR and run options), MergeArgs the merge's
	// options (after `sweep merge DIR`).
	Args, MergeArgs []string
	Dir             string
	Shards          int
	Name            string
	// Resources, each left out of the scripts when empty.
	Partition, Time, GPUsPerTask, CPUsPerTask, Mem string
}

// SlurmFiles are the scripts WriteSlurm wrote.
type SlurmFiles struct{ Array, Merge string }

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// WriteSlurm writes DIR/slurm/array.sh (array task i runs
// `--shard i/N` with i from SLURM_ARRAY_TASK_ID) and DIR/slurm/merge.sh
// (`ratesim sweep merge DIR`, submitted with --dependency=afterok on the
// array, so it runs once every shard succeeded). Job logs go to
// DIR/slurm/.
func WriteSlurm(s *Slurm) (*SlurmFiles, error) {
	sd := filepath.Join(s.Dir, "slurm")
	if err := os.MkdirAll(sd, 0o755); err != nil {
		return nil, err
	}
	res := func(b *strings.Builder, withGPU bool) {
		for _, r := range []struct{ flag, v string }{{"partition", s.Partition}, {"time", s.Time}, {"cpus-per-task", s.CPUsPerTask}, {"mem", s.Mem}} {
			if r.v != "" {
				fmt.Fprintf(b, "#SBATCH --%s=%s\n", r.flag, r.v)
			}
		}
		if withGPU && s.GPUsPerTask != "" {
			fmt.Fprintf(b, "#SBATCH --gpus-per-task=%s\n", s.GPUsPerTask)
		}
	}
	var a strings.Builder
	fmt.Fprintf(&a, "#!/bin/bash\n# Written by ratesim sweep --slurm: one array task per shard of %d.\n", s.Shards)
	fmt.Fprintf(&a, "# Submit with: sbatch --parsable %s (then merge.sh with --dependency=afterok:JOBID)\n", filepath.Join(sd, "array.sh"))
	fmt.Fprintf(&a, "#SBATCH --job-name=%s\n#SBATCH --array=0-%d\n#SBATCH --output=%s\n", shellQuote("ratesim-"+s.Name), s.Shards-1, filepath.Join(sd, "shard-%a.log"))
	res(&a, true)
	fmt.Fprintf(&a, "set -euo pipefail\nexec %s sweep %s --shard \"${SLURM_ARRAY_TASK_ID}/%d\" --quiet\n", shellQuote(s.Program), quoteAll(s.Args), s.Shards)
	var m strings.Builder
	fmt.Fprintf(&m, "#!/bin/bash\n# Written by ratesim sweep --slurm: joins the %d shards once all succeeded.\n", s.Shards)
	fmt.Fprintf(&m, "# Submit with: sbatch --parsable --dependency=afterok:JOBID %s\n", filepath.Join(sd, "merge.sh"))
	fmt.Fprintf(&m, "#SBATCH --job-name=%s\n#SBATCH --output=%s\n", shellQuote("ratesim-"+s.Name+"-merge"), filepath.Join(sd, "merge.log"))
	for _, r := range []struct{ flag, v string }{{"partition", s.Partition}, {"time", s.Time}} {
		if r.v != "" {
			fmt.Fprintf(&m, "#SBATCH --%s=%s\n", r.flag, r.v)
		}
	}
	fmt.Fprintf(&m, "set -euo pipefail\nexec %s\n", quoteAll(append([]string{s.Program, "sweep", "merge", s.Dir}, s.MergeArgs...)))
	f := &SlurmFiles{Array: filepath.Join(sd, "array.sh"), Merge: filepath.Join(sd, "merge.sh")}
	for name, text := range map[string]string{f.Array: a.String(), f.Merge: m.String()} {
		if err := writeAtomic(name, func(w io.Writer) error { _, err := io.WriteString(w, text); return err }); err != nil {
			return nil, err
		}
		if err := os.Chmod(name, 0o755); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// SubmitSlurm submits the scripts with sbatch: the array, then the merge
// depending on it (afterok). It returns both job ids.
func SubmitSlurm(f *SlurmFiles) (array, merge string, err error) {
	sbatch := func(args ...string) (string, error) {
		out, err := exec.Command("sbatch", append([]string{"--parsable"}, args...)...).CombinedOutput()
		text := strings.TrimSpace(string(out))
		if err != nil {
			return "", fmt.Errorf("sbatch %s: %v: %s", strings.Join(args, " "), err, text)
		}
		// --parsable prints "id" or "id;cluster".
		id, _, _ := strings.Cut(text, ";")
		return id, nil
	}
	if array, err = sbatch(f.Array); err != nil {
		return "", "", err
	}
	if merge, err = sbatch("--dependency=afterok:"+array, f.Merge); err != nil {
		return array, "", fmt.Errorf("the array is job %s, but the merge was not submitted: %w", array, err)
	}
	return array, merge, nil
}

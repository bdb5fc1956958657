package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slurmSweep is small: 3 shards of 4 points, two points per chunk.
const slurmSweep = `base:
  dims: [2, 10, 2]
  activation: tanh
  weights: normal
  preact_noise: 0.1
  input: {type: sine, amplitude: 1, period: 200}
  trials: 2
  steps: 50
  backend: cpu
axes:
  - {path: tau, values: [20, 50, 100]}
  - {path: preact_noise, values: [0, 0.1, 0.2, 0.3]}
metrics:
  - {metric: mean, of: rates}
  - {metric: std, of: outputs}
`

// programWrapper writes a script that runs this test binary as ratesim
// with the script's arguments (joined at spaces: the tests' paths have
// none), for Slurm's jobs to run.
func programWrapper(t *testing.T, dir string) string {
	t.Helper()
	self, err := filepath.Abs(os.Args[0])
	require.NoError(t, err)
	w := filepath.Join(dir, "ratesim")
	require.NoError(t, os.WriteFile(w, []byte(fmt.Sprintf("#!/bin/sh\nRATESIM_MAIN=\"$*\" exec %s -test.run='^$'\n", self)), 0o755))
	return w
}

// unsharded runs the sweep whole into DIR/whole and returns its tables.
func unsharded(t *testing.T, dir, file string) ([]byte, []byte) {
	t.Helper()
	whole := filepath.Join(dir, "whole")
	code, stdout, stderr := runCLI(t, "sweep", file, "--out", whole, "--csv", "--quiet")
	require.Equal(t, 0, code, stdout+stderr)
	return readTables(t, whole)
}

// The scripts of --slurm, run by hand as Slurm would (the array's script
// once per SLURM_ARRAY_TASK_ID, then the merge's), give the whole sweep's
// table; status reports the shards.
func TestSweepSlurmScriptsByHand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sw.yaml")
	require.NoError(t, os.WriteFile(file, []byte(slurmSweep), 0o644))
	wantP, wantC := unsharded(t, dir, file)
	out := filepath.Join(dir, "sharded")
	// Resources from the sweep file's slurm: section, --time and
	// --gpus-per-task from flags over it.
	withSlurm := filepath.Join(dir, "sw-slurm.yaml")
	require.NoError(t, os.WriteFile(withSlurm, []byte(slurmSweep+"slurm: {shards: 3, partition: gpu, time: 1:00:00, gpus_per_task: 2, cpus_per_task: 2, mem: 4G}\n"), 0o644))
	code, stdout, stderr := runCLI(t, "sweep", withSlurm, "--out", out, "--slurm", "--csv", "--chunk-points", "2",
		"--ratesim", programWrapper(t, dir), "--time", "0:10:00", "--gpus-per-task", "1")
	require.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "12 points in 3 shards")
	array, err := os.ReadFile(filepath.Join(out, "slurm", "array.sh"))
	require.NoError(t, err)
	for _, want := range []string{"#SBATCH --array=0-2\n", "#SBATCH --partition=gpu\n", "#SBATCH --time=0:10:00\n", "#SBATCH --gpus-per-task=1\n",
		"#SBATCH --cpus-per-task=2\n", "#SBATCH --mem=4G\n", `--shard "${SLURM_ARRAY_TASK_ID}/3"`, "--chunk-points 2", "--csv"} {
		assert.Contains(t, string(array), want)
	}
	merge, err := os.ReadFile(filepath.Join(out, "slurm", "merge.sh"))
	require.NoError(t, err)
	assert.Contains(t, string(merge), "sweep merge "+out+" --csv")
	assert.NotContains(t, string(merge), "--gpus-per-task", "the merge needs no GPU")

	for i := 0; i < 3; i++ {
		if i == 2 {
			code, stdout, _ := runCLI(t, "sweep", "status", out)
			require.Equal(t, 0, code)
			assert.Contains(t, stdout, "shard 2/3: not started")
			assert.Contains(t, stdout, "shards: 3: 2 done, 1 not started; points of started shards 8/8 done, 0 failed; not merged")
		}
		cmd := exec.Command("bash", filepath.Join(out, "slurm", "array.sh"))
		cmd.Env = append(os.Environ(), fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i))
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, string(b))
		assert.Contains(t, string(b), fmt.Sprintf("shard %d/3: 4 points", i))
	}
	b, err := exec.Command("bash", filepath.Join(out, "slurm", "merge.sh")).CombinedOutput()
	require.NoError(t, err, string(b))
	gotP, gotC := readTables(t, out)
	assert.Equal(t, wantP, gotP, "table.parquet: merged shards differ from the unsharded run")
	assert.Equal(t, wantC, gotC, "table.csv: merged shards differ from the unsharded run")
	code, stdout, _ = runCLI(t, "sweep", "status", out)
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "shards: 3: 3 done; points of started shards 12/12 done, 0 failed; merged into")
}

// slurmCluster is a one-node Slurm the test started (see
// the pitfalls of a one-node Slurm listed in startSlurm).
type slurmCluster struct {
	dir, conf string
	procs     []*exec.Cmd
	munged    string // munged's pid file when the test started it
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startSlurm(t *testing.T) *slurmCluster {
	for _, p := range []string{"sbatch", "scontrol", "slurmctld", "slurmd", "munged", "munge", "runuser"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("Slurm is not installed (%s: %v); apt-get install slurmctld slurmd slurm-client munge (.ci/run does)", p, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("a one-node Slurm needs root to start munged, slurmctld and slurmd")
	}
	c := &slurmCluster{dir: t.TempDir()}
	t.Cleanup(c.stop)
	// munged: reuse a running one, else start it as the munge user.
	if exec.Command("sh", "-c", "munge -n | unmunge").Run() != nil {
		require.NoError(t, os.MkdirAll("/run/munge", 0o755))
		require.NoError(t, exec.Command("chown", "munge:munge", "/run/munge").Run())
		b, err := exec.Command("runuser", "-u", "munge", "--", "munged").CombinedOutput()
		require.NoError(t, err, "munged: %s", b)
		c.munged = "/run/munge/munged.pid"
		deadline := time.Now().Add(10 * time.Second)
		for exec.Command("sh", "-c", "munge -n | unmunge").Run() != nil {
			require.True(t, time.Now().Before(deadline), "munged did not answer")
			time.Sleep(100 * time.Millisecond)
		}
	}
	host, err := os.Hostname()
	require.NoError(t, err)
	out, err := exec.Command("slurmd", "-C").Output()
	require.NoError(t, err)
	cpus := regexp.MustCompile(`CPUs=(\d+)`).FindSubmatch(out)
	mem := regexp.MustCompile(`RealMemory=(\d+)`).FindSubmatch(out)
	require.NotNil(t, cpus, "slurmd -C: %s", out)
	require.NotNil(t, mem, "slurmd -C: %s", out)
	m, _ := strconv.Atoi(string(mem[1]))
	for _, d := range []string{"state", "spool"} {
		require.NoError(t, os.MkdirAll(filepath.Join(c.dir, d), 0o755))
	}
	d := c.dir
	conf := fmt.Sprintf(`ClusterName=ratesimtest
SlurmctldHost=%[1]s(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=%[2]d
SlurmdPort=%[3]d
AuthType=auth/munge
StateSaveLocation=%[4]s/state
SlurmdSpoolDir=%[4]s/spool
SlurmctldPidFile=%[4]s/slurmctld.pid
SlurmdPidFile=%[4]s/slurmd.pid
SlurmctldLogFile=%[4]s/slurmctld.log
SlurmdLogFile=%[4]s/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=sched_interval=2,batch_sched_delay=0
MinJobAge=3600
DependencyParameters=kill_invalid_depend
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=%[1]s NodeAddr=127.0.0.1 CPUs=%[5]s RealMemory=%[6]d State=UNKNOWN
PartitionName=test Nodes=%[1]s Default=YES MaxTime=INFINITE State=UP
`, host, freePort(t), freePort(t), d, cpus[1], m*8/10)
	c.conf = filepath.Join(d, "slurm.conf")
	require.NoError(t, os.WriteFile(c.conf, []byte(conf), 0o644))
	t.Setenv("SLURM_CONF", c.conf)
	for _, args := range [][]string{{"slurmctld", "-D", "-f", c.conf}, {"slurmd", "-D", "-f", c.conf, "-N", host}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "SLURM_CONF="+c.conf)
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		require.NoError(t, cmd.Start(), args[0])
		c.procs = append(c.procs, cmd)
	}
	// Ready when the node is idle.
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := exec.Command("scontrol", "-o", "show", "node", host).CombinedOutput()
		if strings.Contains(string(b), "State=IDLE") {
			break
		}
		if time.Now().After(deadline) {
			ctl, _ := os.ReadFile(filepath.Join(d, "slurmctld.log"))
			sd, _ := os.ReadFile(filepath.Join(d, "slurmd.log"))
			t.Fatalf("the Slurm node did not come up: %s\nslurmctld.log:\n%s\nslurmd.log:\n%s", b, ctl, sd)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return c
}

// stop cancels the jobs and stops the daemons the test started, by pid.
func (c *slurmCluster) stop() {
	if c.conf != "" {
		exec.Command("scancel", "--user=root").Run()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
	if c.munged != "" {
		if b, err := os.ReadFile(c.munged); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	}
}

// jobState is a job's JobState (for an array, every task's, joined).
func jobState(t *testing.T, id string) string {
	b, err := exec.Command("scontrol", "-o", "show", "job", id).CombinedOutput()
	require.NoError(t, err, string(b))
	var states []string
	for _, m := range regexp.MustCompile(`JobState=(\S+)`).FindAllSubmatch(b, -1) {
		states = append(states, string(m[1]))
	}
	return strings.Join(states, ",")
}

// `ratesim sweep --slurm --submit` on a real one-node Slurm: an array of 3
// shards and a merge after it give the unsharded run's table.
func TestSweepSlurmSubmit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Slurm cluster")
	}
	c := startSlurm(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "sw.yaml")
	require.NoError(t, os.WriteFile(file, []byte(slurmSweep), 0o644))
	wantP, wantC := unsharded(t, dir, file)
	out := filepath.Join(dir, "sharded")
	code, stdout, stderr := runCLI(t, "sweep", file, "--out", out, "--slurm", "--submit", "--shards", "3", "--csv", "--chunk-points", "2",
		"--ratesim", programWrapper(t, dir), "--time", "0:05:00")
	require.Equal(t, 0, code, stdout+stderr)
	m := regexp.MustCompile(`array job (\d+) \(3 tasks\), merge job (\d+)`).FindStringSubmatch(stdout)
	require.NotNil(t, m, stdout)
	deadline := time.Now().Add(50 * time.Second)
	var state string
	for {
		state = jobState(t, m[2])
		// A job ends RUNNING → COMPLETING → COMPLETED: wait through all
		// of them (a loaded machine can show COMPLETING for a while).
		if !strings.Contains(state, "PENDING") && !strings.Contains(state, "RUNNING") && !strings.Contains(state, "CONFIGURING") && !strings.Contains(state, "COMPLETING") {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	logs, _ := filepath.Glob(filepath.Join(out, "slurm", "*.log"))
	var text strings.Builder
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		fmt.Fprintf(&text, "%s:\n%s\n", l, b)
	}
	require.Equal(t, "COMPLETED", state, "merge job; array: %s\n%s", jobState(t, m[1]), text.String())
	assert.Equal(t, "COMPLETED,COMPLETED,COMPLETED", jobState(t, m[1]))
	gotP, gotC := readTables(t, out)
	assert.Equal(t, wantP, gotP, "table.parquet: Slurm's merged shards differ from the unsharded run")
	assert.Equal(t, wantC, gotC, "table.csv: Slurm's merged shards differ from the unsharded run")
	assert.Contains(t, text.String(), "merged 3 shards: 12 points")
	_ = c
}

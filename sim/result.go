package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/npz"
)

// Version is ratesim's version; the VCS revision is appended when known.
const Version = "0.1.0"

// FullVersion is Version with the build's VCS revision.
func FullVersion() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// Meta is what meta.json holds.
type Meta struct {
	Ratesim        string           `json:"ratesim_version"`
	Spec           *Spec            `json:"spec"`
	SpecFile       string           `json:"spec_file,omitempty"`
	InputFile      string           `json:"input_file,omitempty"`
	InitStateFile  string           `json:"init_state_file,omitempty"`
	Seed           uint64           `json:"seed"`
	Backend        string           `json:"backend"`
	Device         string           `json:"device"`
	Precision      string           `json:"precision"`
	Steps          int              `json:"steps"`
	Trials         int              `json:"trials"`
	Recorded       int              `json:"recorded_steps"`
	WallSeconds    float64          `json:"wall_seconds"`
	StepsPerSecond float64          `json:"steps_per_second"`
	Arrays         map[string][]int `json:"arrays"`
	Finished       string           `json:"finished"`
	Go             string           `json:"go"`
}

// writeResults writes result.npz and meta.json into opt.Out, each to a
// temporary file renamed into place only when complete.
func writeResults[T backend.Float](s *Spec, res *Results[T], sum *Summary, opt Options) error {
	if opt.Out == "" {
		return fmt.Errorf("no output directory given")
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return fmt.Errorf("cannot create output directory: %w", err)
	}
	B, N, O, M := s.Trials, s.Dims[1], s.Dims[2], res.Recorded
	arrays := map[string][]int{}
	path := filepath.Join(opt.Out, "result.npz")
	w, err := npz.Create(path)
	if err != nil {
		return err
	}
	defer w.Abort()
	put := func(name string, shape []int, data []T) error {
		if data == nil {
			return nil
		}
		arrays[name] = shape
		switch d := any(data).(type) {
		case []float32:
			return w.Float32(name, shape, d)
		case []float64:
			return w.Float64(name, shape, d)
		}
		return nil
	}
	for _, a := range []struct {
		name  string
		shape []int
		data  []T
	}{
		{"rates", []int{B, M, N}, res.Rates},
		{"outputs", []int{B, M, O}, res.Outputs},
		{"states", []int{B, M, N}, res.States},
		{"final_state", []int{B, N}, res.FinalState},
		{"final_rates", []int{B, N}, res.FinalRates},
	} {
		if err := put(a.name, a.shape, a.data); err != nil {
			return err
		}
	}
	arrays["time"] = []int{M}
	if err := w.Float64("time", []int{M}, res.Time); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	sum.ResultFile = path
	if res.Rates != nil && M > 0 {
		img, err := PlotRates(res.Rates, res.Outputs, M, N, len(res.Outputs)/max(1, B*M))
		if err != nil {
			return err
		}
		sum.PlotFile = filepath.Join(opt.Out, "rates.png")
		if err := writeFileAtomic(sum.PlotFile, img); err != nil {
			return err
		}
	}
	sum.Arrays = arrays
	meta := Meta{
		Ratesim: FullVersion(), Spec: s, SpecFile: opt.SpecFile, Seed: s.Seed,
		InputFile: opt.InputFile(), InitStateFile: opt.InitStateFile,
		Backend: sum.Backend, Device: sum.Device, Precision: s.Precision,
		Steps: s.Steps, Trials: s.Trials, Recorded: M,
		WallSeconds: sum.Wall.Seconds(), StepsPerSecond: sum.StepsPerSecond,
		Arrays: arrays, Finished: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(),
	}
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	sum.MetaFile = filepath.Join(opt.Out, "meta.json")
	return writeFileAtomic(sum.MetaFile, append(data, '\n'))
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// onto path, so readers see either the old file or the whole new one.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	for _, e := range []error{werr, serr, cerr} {
		if e != nil {
			os.Remove(tmp)
			return fmt.Errorf("cannot write %s: %w", path, e)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

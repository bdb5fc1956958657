package output

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
)

// Meta is what meta.json holds.
type Meta struct {
	Ratesim        string           `json:"ratesim_version"`
	Spec           *spec.Spec       `json:"spec"`
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
	Recording      *spec.RecordInfo `json:"recording"`
	WallSeconds    float64          `json:"wall_seconds"`
	StepsPerSecond float64          `json:"steps_per_second"`
	Arrays         map[string][]int `json:"arrays"`
	// Plasticity says what a plastic run recorded of its weights.
	Plasticity *PlasticityInfo `json:"plasticity,omitempty"`
	Finished   string          `json:"finished"`
	Go         string          `json:"go"`
}

// RunInfo is what meta.json says of a run beyond its spec and recording.
type RunInfo struct {
	// Version is ratesim's version (with the VCS revision when known).
	Version                            string
	SpecFile, InputFile, InitStateFile string
	Backend, Device                    string
	Wall                               time.Duration
	StepsPerSecond                     float64
}

// Files are what Write wrote: the paths ("" where a file was not written)
// and the shape of every array in result.npz.
type Files struct {
	Result, Meta, Plot, WeightsPlot string
	Arrays                          map[string][]int
}

// Write writes result.npz, the pictures (drawPictures) and meta.json of spec s's run into dir, showing progress on progress (nil:
// none) while streamed recordings are copied.
// Each is first written in full under a hidden staged name; only when all
// are complete are they renamed into place, result.npz last, so that a
// result.npz is never half-written and never sits beside another run's
// meta.json. On failure the staged files are removed and an earlier run's
// files are left as they were. Cancelling ctx (Ctrl-C) while the
// recordings are copied into result.npz stops the write the same way.
func Write[T backend.Float](ctx context.Context, dir string, s *spec.Spec, res *Recording[T], info RunInfo, progress io.Writer, hooks Hooks) (_ *Files, err error) {
	plan := res.Plan
	files := &Files{}
	B, N, M := s.Trials, s.Dims[1], plan.M
	var staged []string
	defer func() {
		if err != nil {
			for _, f := range staged {
				os.Remove(f)
			}
		}
	}()
	resultPath := filepath.Join(dir, "result.npz")
	npzStage, err := stagedPath(resultPath)
	if err != nil {
		return nil, err
	}
	staged = append(staged, npzStage)
	w, err := npz.Create(npzStage)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	dtype := npz.Float32
	if elemSize[T]() == 8 {
		dtype = npz.Float64
	}
	arrays := map[string][]int{}
	var total int64
	for _, a := range res.arrays() {
		total += a.bytes()
	}
	var prog *Progress
	if res.Streamed {
		prog = NewProgress(progress, "writing result.npz", total, "MB")
	} else {
		prog = NewProgress(nil, "", total, "MB")
	}
	written := int64(0)
	tick := func(n int64) error {
		written += n
		prog.Update(written)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted: %w", err)
		}
		return nil
	}
	for _, a := range res.arrays() {
		shape := []int{B, M, a.width}
		aw, err := w.Array(a.name, dtype, shape)
		if err != nil {
			return nil, err
		}
		var out io.Writer = aw
		if hooks.WrapArray != nil {
			out = hooks.WrapArray(a.name, aw)
		}
		if err := a.writeTo(out, tick); err != nil {
			return nil, fmt.Errorf("writing %s: array %s: %w", resultPath, a.name, err)
		}
		arrays[a.name] = shape
	}
	prog.Finish()
	put := func(name string, shape []int, data []T) error {
		arrays[name] = shape
		return w.Put(name, dtype, shape, data)
	}
	if err := put("final_state", []int{B, N}, res.FinalState); err != nil {
		return nil, err
	}
	if err := put("final_rates", []int{B, N}, res.FinalRates); err != nil {
		return nil, err
	}
	arrays["time"] = []int{M}
	if err := w.Float64("time", []int{M}, res.Time); err != nil {
		return nil, err
	}
	units := make([]int64, len(plan.Units))
	for i, u := range plan.Units {
		units[i] = int64(u)
	}
	arrays["units"] = []int{len(units)}
	if err := w.Int64("units", []int{len(units)}, units); err != nil {
		return nil, err
	}
	if wr := res.Weights; wr != nil {
		if wr.snaps > 0 {
			if err := put("weights", []int{wr.mats, wr.snaps, wr.width}, wr.snapshots); err != nil {
				return nil, err
			}
			arrays["weights_time"] = []int{wr.snaps}
			if err := w.Float64("weights_time", []int{wr.snaps}, wr.times); err != nil {
				return nil, err
			}
		}
		for l, f := range wr.final {
			if f != nil {
				if err := put("final_weights_"+spec.ConnectionNames[l], wr.finalShape(l), f); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}

	pics, err := drawPictures(s, res)
	if err != nil {
		return nil, err
	}
	picStage := make([]string, len(pics))
	for i, pic := range pics {
		if picStage[i], err = writeStaged(filepath.Join(dir, pic.Name), pic.Data); err != nil {
			return nil, err
		}
		staged = append(staged, picStage[i])
	}
	files.Arrays = arrays
	meta := Meta{
		Ratesim: info.Version, Spec: s, SpecFile: info.SpecFile, Seed: s.Seed,
		InputFile: info.InputFile, InitStateFile: info.InitStateFile,
		Backend: info.Backend, Device: info.Device, Precision: s.Precision,
		Steps: s.Steps, Trials: s.Trials, Recorded: M,
		Recording:   plan.Info(&s.Record, s.Dt, res.Streamed),
		WallSeconds: info.Wall.Seconds(), StepsPerSecond: info.StepsPerSecond,
		Arrays: arrays, Finished: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(),
	}
	if res.Weights != nil {
		meta.Plasticity = res.Weights.info(s.Plasticity)
	}
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	metaPath := filepath.Join(dir, "meta.json")
	metaStage, err := writeStaged(metaPath, append(data, '\n'))
	if err != nil {
		return nil, err
	}
	staged = append(staged, metaStage)

	// Commit: the pictures, the metadata, then the result. An earlier
	// run's picture that this run does not draw is removed.
	drawn := map[string]string{}
	for i, pic := range pics {
		path := filepath.Join(dir, pic.Name)
		if err := os.Rename(picStage[i], path); err != nil {
			return nil, fmt.Errorf("cannot write %s: %w", path, err)
		}
		drawn[pic.Name] = path
	}
	for _, name := range PictureNames {
		if _, ok := drawn[name]; ok {
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("cannot remove an earlier run's %s: %w", path, err)
		}
	}
	files.Plot, files.WeightsPlot = drawn[RatesPicture], drawn[WeightsPicture]
	if err := os.Rename(metaStage, metaPath); err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", metaPath, err)
	}
	if err := os.Rename(npzStage, resultPath); err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", resultPath, err)
	}
	syncDir(dir)
	files.Result, files.Meta = resultPath, metaPath
	return files, nil
}

// writeStaged writes data in full to a hidden file beside path and returns
// its name; the caller renames it onto path.
func writeStaged(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.staged")
	if err != nil {
		return "", fmt.Errorf("cannot write %s: %w", path, err)
	}
	_, werr := f.Write(data)
	merr := f.Chmod(0o644)
	serr := f.Sync()
	cerr := f.Close()
	for _, e := range []error{werr, merr, serr, cerr} {
		if e != nil {
			os.Remove(f.Name())
			return "", fmt.Errorf("cannot write %s: %w", path, e)
		}
	}
	return f.Name(), nil
}

// syncDir persists renames in dir (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
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

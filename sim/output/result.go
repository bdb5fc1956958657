package output

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// Pictures are the pictures the output directory holds (PictureNames).
	Pictures []string `json:"pictures"`
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

// Files are what Write published: the paths in the output directory ("" where a file was not written)
// and the shape of every array in result.npz.
type Files struct {
	Result, Meta, Plot, WeightsPlot string
	Arrays                          map[string][]int
}

// Write writes result.npz, the pictures (drawPictures) and meta.json of
// spec s's run into the stage's staging directory, showing progress on
// progress (nil: none) while streamed recordings are copied, and publishes
// them as the output directory in one rename (see Begin and doc.go): the
// output directory holds either the previous output or all of this one.
// On failure nothing is published; Close then removes the staged files.
// Cancelling ctx (Ctrl-C) while the recordings are copied into result.npz
// stops the write the same way.
func Write[T backend.Float](ctx context.Context, st *Stage, s *spec.Spec, res *Recording[T], info RunInfo, progress io.Writer) (*Files, error) {
	if st.closed || st.published {
		return nil, errors.New("output: Write on a closed or published stage")
	}
	plan := res.Plan
	B, N, M := s.Trials, s.Dims[1], plan.M
	if err := st.step(StepResult); err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", st.path("result.npz"), err)
	}
	w, err := npz.Create(st.staged("result.npz"))
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
		if st.hooks.WrapArray != nil {
			out = st.hooks.WrapArray(a.name, aw)
		}
		if err := a.writeTo(out, tick); err != nil {
			return nil, fmt.Errorf("writing %s: array %s: %w", st.path("result.npz"), a.name, err)
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
	// Close fsyncs result.npz and renames it into place in the staging
	// directory.
	if err := w.Close(); err != nil {
		return nil, err
	}

	pics, err := drawPictures(s, res)
	if err != nil {
		return nil, err
	}
	files := &Files{Result: st.path("result.npz"), Meta: st.path("meta.json"), Arrays: arrays}
	drawn := []string{}
	for _, pic := range pics {
		err := st.step(pic.Name)
		if err == nil {
			err = writeFile(st.staged(pic.Name), pic.Data)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot write %s: %w", st.path(pic.Name), err)
		}
		drawn = append(drawn, pic.Name)
		switch pic.Name {
		case res.PictureFile(RatesPicture):
			files.Plot = st.path(pic.Name)
		case res.PictureFile(WeightsPicture):
			files.WeightsPlot = st.path(pic.Name)
		}
	}
	meta := Meta{
		Ratesim: info.Version, Spec: s, SpecFile: info.SpecFile, Seed: s.Seed,
		InputFile: info.InputFile, InitStateFile: info.InitStateFile,
		Backend: info.Backend, Device: info.Device, Precision: s.Precision,
		Steps: s.Steps, Trials: s.Trials, Recorded: M,
		Recording:   plan.Info(&s.Record, s.Dt, res.Streamed),
		WallSeconds: info.Wall.Seconds(), StepsPerSecond: info.StepsPerSecond,
		Arrays: arrays, Pictures: drawn, Finished: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(),
	}
	if res.Weights != nil {
		meta.Plasticity = res.Weights.info(s.Plasticity)
	}
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	err = st.step(StepMeta)
	if err == nil {
		err = writeFile(st.staged("meta.json"), append(data, '\n'))
	}
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", files.Meta, err)
	}
	if err := st.publish(); err != nil {
		return nil, err
	}
	return files, nil
}

package output

import (
	"errors"
	"fmt"
)

// CircuitFileNames are the files a circuit run (sim.RunCircuit) writes
// beside result.npz and meta.json: its tables, in CSV and Parquet, and its
// pictures (in every format, as PictureNames).
var CircuitFileNames = func() []string {
	names := []string{}
	for _, t := range []string{"selectivity", "units", "weights"} {
		names = append(names, t+".csv", t+".parquet")
	}
	for _, p := range []string{"l5_weights", "l5_selectivity", "l5_activity", "l5_weights_time", "l5_rates"} {
		for _, ext := range []string{".png", ".svg", ".pdf"} {
			names = append(names, p+ext)
		}
	}
	return names
}()

// WriteStaged writes one file of the output into the staging directory,
// durably; Publish makes it part of the output directory with the others.
// It is for runs whose output is not Write's (circuit runs), and name must
// be one of the names a run owns (result.npz, meta.json, PictureNames,
// CircuitFileNames), so that the next run may replace it.
func (st *Stage) WriteStaged(name string, data []byte) error {
	if st.closed || st.published {
		return errors.New("output: WriteStaged on a closed or published stage")
	}
	if !ownName(name) {
		return fmt.Errorf("output: %s is not a file a run writes", name)
	}
	err := st.step(name)
	if err == nil {
		err = writeFile(st.staged(name), data)
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", st.path(name), err)
	}
	return nil
}

// StagedPath is where a file named name of the output is staged, for
// writers that create the file themselves (npz.Create); the same names as
// WriteStaged are allowed.
func (st *Stage) StagedPath(name string) (string, error) {
	if !ownName(name) {
		return "", fmt.Errorf("output: %s is not a file a run writes", name)
	}
	if err := st.step(name); err != nil {
		return "", fmt.Errorf("cannot write %s: %w", st.path(name), err)
	}
	return st.staged(name), nil
}

// Path is the published path of the output's file name.
func (st *Stage) Path(name string) string { return st.path(name) }

// Publish makes the staged files the output directory, in one rename (see
// Begin); nothing is published on failure.
func (st *Stage) Publish() error {
	if st.closed || st.published {
		return errors.New("output: Publish on a closed or published stage")
	}
	return st.publish()
}

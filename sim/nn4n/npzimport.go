package nn4n

import (
	"fmt"
	"strings"

	"github.com/ratesim/ratesim/sim/npz"
)

// stateKeys are the state-dict entries the import reads.
var stateKeys = []string{KeyInputWeight, KeyInputBias, KeyHiddenWeight, KeyHiddenBias,
	KeyReadoutWeight, KeyReadoutBias, KeyAlpha, KeyHiddenState}

// ReadNPZ decodes an .npz holding nn4n's state dict under its own key names,
// as np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})
// writes it. Activation, dt and tau are not in a state dict: they come from
// ov, else nn4n's defaults (relu, 10, 100), and Model.Origin says which.
func ReadNPZ(file string, ov Overrides) (*Model, error) {
	ar, err := npz.Open(file)
	if err != nil {
		return nil, err
	}
	defer ar.Close()
	names := ar.Names()
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	sd := map[string]*array{}
	for _, key := range stateKeys {
		if !have[key] {
			continue
		}
		a, err := ar.Array(key)
		if err != nil {
			return nil, err
		}
		vals, err := a.Float64s()
		if err != nil {
			return nil, &Error{File: file, Where: "key " + key, Err: err}
		}
		sd[key] = &array{shape: a.Shape, vals: vals, dtype: a.DType.String(), source: "key " + key}
	}
	m, err := assemble(file, "npz", sd, nil, ov)
	if err != nil {
		return nil, err
	}
	var ignored []string
	for _, n := range names {
		if _, ok := sd[n]; !ok {
			ignored = append(ignored, n)
		}
	}
	if len(ignored) > 0 {
		m.Notes = append(m.Notes, "ignored arrays: "+strings.Join(ignored, ", "))
	}
	var defaulted, flags []string
	for _, k := range []struct {
		name string
		val  any
	}{{"activation", DefaultActivation}, {"dt", DefaultDt}, {"tau", DefaultTau}} {
		if m.Origin[k.name] == "nn4n default" && !(k.name == "tau" && m.Origin["alpha"] == "state dict") {
			defaulted = append(defaulted, fmt.Sprintf("%s %v", k.name, k.val))
			flags = append(flags, "--"+k.name)
		}
	}
	if len(defaulted) > 0 {
		extra := ""
		if m.Origin["alpha"] == "state dict" {
			extra = " (α comes from the state dict, so dt only sets the time axis)"
		}
		m.Notes = append(m.Notes, fmt.Sprintf("a state dict does not record these settings, so nn4n's defaults are used: %s%s; give %s if the model was built otherwise",
			strings.Join(defaulted, ", "), extra, strings.Join(flags, ", ")))
	}
	return m, nil
}

// Read decodes a model by its extension: .npz, or .pt/.pth (a checkpoint).
func Read(file string, ov Overrides) (*Model, error) {
	switch {
	case strings.HasSuffix(strings.ToLower(file), ".npz"):
		return ReadNPZ(file, ov)
	case strings.HasSuffix(strings.ToLower(file), ".pt"), strings.HasSuffix(strings.ToLower(file), ".pth"):
		return ReadCheckpoint(file, ov)
	}
	return nil, &Error{File: file, Reason: "unknown model file type: want .npz (a state dict saved with np.savez) or .pt/.pth (nn4n's torch.save checkpoint)"}
}

package nn4n

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/sim/npz"
)

// WeightsPath is where WriteSpec puts the arrays for specPath:
// SPEC.yaml → SPEC.weights.npz, in the same directory.
func WeightsPath(specPath string) string {
	ext := filepath.Ext(specPath)
	base := specPath
	if ext == ".yaml" || ext == ".yml" {
		base = strings.TrimSuffix(specPath, ext)
	}
	return base + ".weights.npz"
}

// Array keys in the weights file beyond nn4n's state-dict keys.
const (
	keyAlphaFromTau = "alpha"
	keyInitState    = "init_state"
)

func maskKey(kind string, layer int) string {
	return kind + "." + [3]string{"input", "hidden", "readout"}[layer]
}

// WriteSpec writes a ratesim spec for m at specPath and its arrays next to
// it (WeightsPath(specPath)); the spec refers to them by a relative path, so
// the two travel together. Both files are written atomically, the weights
// first. It returns the weights file's path.
func WriteSpec(m *Model, specPath string) (string, error) {
	wpath := WeightsPath(specPath)
	wfile := filepath.Base(wpath)
	w, err := npz.Create(wpath)
	if err != nil {
		return "", err
	}
	put := func(key string, shape []int, vals []float64, f64 bool) error {
		if f64 {
			return w.Float64(key, shape, vals)
		}
		f := make([]float32, len(vals))
		for i, v := range vals {
			f[i] = float32(v)
		}
		return w.Float32(key, shape, f)
	}
	ref := func(key string) *yaml.Node {
		return flowMap("file", wfile, "key", key)
	}

	doc := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, v *yaml.Node, comment string) {
		k := scalar(key)
		k.HeadComment = comment
		doc.Content = append(doc.Content, k, v)
	}
	name := strings.TrimSuffix(filepath.Base(specPath), filepath.Ext(specPath))
	add("name", scalar(name), "")
	dims := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, d := range []int{m.Inputs, m.Hidden, m.Outputs} {
		dims.Content = append(dims.Content, scalar(fmt.Sprint(d)))
	}
	add("dims", dims, "")
	add("activation", scalar(m.Activation), from(m.Origin["activation"]))
	add("dt", number(m.Dt), from(m.Origin["dt"]))
	switch {
	case m.Alpha != nil:
		key := KeyAlpha
		if m.Origin["alpha"] != "state dict" {
			key = keyAlphaFromTau
		}
		if err := put(key, []int{m.Hidden}, m.Alpha, true); err != nil {
			w.Abort()
			return "", err
		}
		src := "α per unit from " + m.Origin["alpha"]
		if m.Origin["alpha"] == "" {
			src = fmt.Sprintf("α = dt/τ per unit, τ from %s", m.Origin["tau"])
		}
		add("alpha", ref(key), src)
	default:
		add("tau", number(m.Tau), from(m.Origin["tau"]))
	}
	noise := "nn4n adds noise only in train mode; ratesim adds it from the first step (set both to 0 for nn4n's eval() outputs)"
	if m.PreactNoise == 0 && m.PostactNoise == 0 {
		noise = ""
	}
	add("preact_noise", number(m.PreactNoise), noise)
	add("postact_noise", number(m.PostactNoise), "")

	weightKeys := [3]string{KeyInputWeight, KeyHiddenWeight, KeyReadoutWeight}
	biasKeys := [3]string{KeyInputBias, KeyHiddenBias, KeyReadoutBias}
	weights := &yaml.Node{Kind: yaml.MappingNode}
	biases := &yaml.Node{Kind: yaml.MappingNode}
	for i := range m.Layers {
		l := &m.Layers[i]
		if err := put(weightKeys[i], []int{l.Out, l.In}, l.Weight, m.Float64); err != nil {
			w.Abort()
			return "", err
		}
		weights.Content = append(weights.Content, scalar(l.Name), ref(weightKeys[i]))
		if l.Bias != nil {
			if err := put(biasKeys[i], []int{l.Out}, l.Bias, m.Float64); err != nil {
				w.Abort()
				return "", err
			}
			biases.Content = append(biases.Content, scalar(l.Name), ref(biasKeys[i]))
		}
	}
	add("weights", weights, "arrays in nn4n's (out, in) orientation, used as saved (as nn4n's eval() forward uses them)")
	if len(biases.Content) > 0 {
		add("biases", biases, "layers without a bias in the model have none")
	}

	// Masks: written to the weights file always; put in the spec only when
	// the weights already obey them, so that applying them changes nothing.
	viol := m.MaskViolations()
	for _, kind := range []string{"sparsity_masks", "ei_masks", "plasticity_masks"} {
		node := &yaml.Node{Kind: yaml.MappingNode}
		var skipped []string
		for i := range m.Layers {
			l := &m.Layers[i]
			mask := map[string][]float64{"sparsity_masks": l.SparsityMask, "ei_masks": l.EIMask, "plasticity_masks": l.PlasticityMask}[kind]
			if mask == nil {
				continue
			}
			key := maskKey(kind, i)
			if err := put(key, []int{l.In, l.Out}, mask, false); err != nil {
				w.Abort()
				return "", err
			}
			if kind != "plasticity_masks" && viol[i] > 0 {
				skipped = append(skipped, fmt.Sprintf("%s (%d weights break the model's masks)", l.Name, viol[i]))
				continue
			}
			node.Content = append(node.Content, scalar(l.Name), ref(key))
		}
		comment := ""
		if len(skipped) > 0 {
			comment = fmt.Sprintf("%s for %s: left out of the spec, since applying them would change the saved weights (they are in %s)", kind, strings.Join(skipped, ", "), wfile)
		}
		if len(node.Content) > 0 {
			add(kind, node, comment)
		} else if comment != "" {
			doc.FootComment = strings.TrimSpace(doc.FootComment + "\n" + comment)
		}
	}
	if m.InitState != nil {
		key := keyInitState
		if m.Origin["init_state"] == "state dict" {
			key = KeyHiddenState
		}
		if err := put(key, []int{m.Hidden}, m.InitState, m.Float64); err != nil {
			w.Abort()
			return "", err
		}
		add("init_state", ref(key), "initial state v₀ from "+m.Origin["init_state"])
	}
	if err := w.Close(); err != nil {
		return "", err
	}

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# ratesim spec imported from the nn4n model %s (%s) by `ratesim import nn4n`.\n", filepath.Base(m.Source), m.Format)
	fmt.Fprintf(&buf, "# Arrays are in %s next to this file. Run it with\n#   ratesim run %s --input X.npy   # X shaped (trials, steps, %d), batch-first as nn4n takes it\n",
		wfile, filepath.Base(specPath), m.Inputs)
	for _, n := range m.Notes {
		fmt.Fprintf(&buf, "# note: %s\n", n)
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", &Error{File: specPath, Err: err}
	}
	if err := enc.Close(); err != nil {
		return "", &Error{File: specPath, Err: err}
	}
	if err := writeAtomic(specPath, buf.Bytes()); err != nil {
		return "", &Error{File: specPath, Err: err}
	}
	return wpath, nil
}

// from says where a setting came from, as a comment.
func from(origin string) string {
	switch origin {
	case "nn4n default":
		return "nn4n's default (not recorded in the model)"
	case "flag":
		return "from the command line"
	}
	return "from the model's " + origin
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func number(x float64) *yaml.Node {
	return scalar(strconv.FormatFloat(x, 'g', -1, 64))
}

func flowMap(kv ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for _, s := range kv {
		n.Content = append(n.Content, scalar(s))
	}
	return n
}

// writeAtomic writes data to a temporary file next to path and renames it.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

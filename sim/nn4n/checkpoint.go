package nn4n

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
)

// maxPickleBytes bounds data.pkl (a checkpoint's pickle holds structure
// only; the numbers are in separate storage files).
const maxPickleBytes = 64 << 20

// exportHint is how to get an NPZ from any checkpoint torch can load.
const exportHint = `export the state dict as an NPZ instead (in Python, where torch loads it):
    python3 -c "import sys, torch, numpy as np; ck = torch.load(sys.argv[1], map_location='cpu'); sd = ck.get('model_state_dict', ck); np.savez(sys.argv[2], **{k: v.numpy() for k, v in sd.items()})" MODEL.pt MODEL.npz
then: ratesim import nn4n MODEL.npz --activation A --dt DT --tau TAU -o SPEC.yaml`

// ReadCheckpoint decodes nn4n's own checkpoint, torch.save({"model_state_dict":
// …, "kwargs": …}) (or a bare torch.save(model.state_dict())), without
// running any of its code.
func ReadCheckpoint(file string, ov Overrides) (*Model, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, &Error{File: file, Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &Error{File: file, Err: err}
	}
	return ReadCheckpointFrom(f, fi.Size(), file, ov)
}

// ReadCheckpointFrom is ReadCheckpoint on an open file; name is used in errors.
func ReadCheckpointFrom(r io.ReaderAt, size int64, name string, ov Overrides) (*Model, error) {
	top, entry, err := decodeArchive(r, size, name)
	if err != nil {
		return nil, err
	}
	return fromPickle(name, entry, top, ov)
}

// decodeArchive reads the zip archive torch.save writes (its default since
// torch 1.6) and unpickles its data.pkl; it returns the top-level value and
// data.pkl's entry name.
//
// The layout, in about the order torch writes the records, FOLDER being the saved
// file's base name without its extension (model for model.pt) when
// torch.save is given a path, and "archive" when it is given a file object
// — in 1.x and 2.x alike:
//
//	torch 1.6 – 1.13                  torch 2.x
//	FOLDER/data.pkl                   FOLDER/data.pkl
//	                                  FOLDER/.format_version     ("1"; recent 2.x)
//	                                  FOLDER/.storage_alignment  ("64"; recent 2.x)
//	                                  FOLDER/byteorder           ("little" or "big"; 2.1 on)
//	FOLDER/data/KEY …                 FOLDER/data/KEY …
//	FOLDER/version ("3\n")            FOLDER/version ("3\n")
//	                                  FOLDER/.data/serialization_id (an id; 2.1 on)
//
// data.pkl itself is the same in both: protocol 2, storages as persistent
// ids ('storage', torch.FloatStorage, KEY, 'cpu', numel) and tensors as
// _rebuild_tensor_v2(storage, offset, size, stride, …) views of them. What
// the reader needs from the differences: the folder is found from data.pkl
// (any name), byteorder decides the storages' byte order (absent, as in
// every 1.x file: little-endian), and version must be an integer when
// present (torch.save has written 3 since 1.6; data.pkl does not depend on
// it). The serialization id, .format_version (whether data/ records are in
// numeric or lexicographic key order) and .storage_alignment (the padding
// torch puts in each record's zip extra field so that its data starts on a
// 64-byte boundary) say nothing the decoder needs; the zip reader skips the
// padding, and reads the zip64 end records torch writes in both.
func decodeArchive(r io.ReaderAt, size int64, name string) (any, string, error) {
	fail := func(where string, err error) error {
		return &Error{File: name, Where: where, Err: err}
	}
	zr, err := zip.NewReader(r, size)
	if errors.Is(err, zip.ErrInsecurePath) && zr != nil {
		err = nil // we never extract, so odd names are harmless
	}
	if err != nil {
		var head [2]byte
		if n, _ := r.ReadAt(head[:], 0); n == 2 && head[0] == 0x80 {
			return nil, "", fail("", fmt.Errorf("this is a legacy (pre-1.6, or _use_new_zipfile_serialization=False) torch file or a plain pickle, which ratesim does not read; re-save it with a current torch.save, or %s", exportHint))
		}
		return nil, "", fail("", fmt.Errorf("not a torch checkpoint (torch.save writes a zip archive): %v; %s", err, exportHint))
	}
	var pkl *zip.File
	prefix := ""
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
		dir, base := path.Split(f.Name)
		if base != "data.pkl" || strings.Count(f.Name, "/") > 1 {
			continue
		}
		if pkl != nil {
			return nil, "", fail("", fmt.Errorf("the archive holds more than one data.pkl (%s, %s)", pkl.Name, f.Name))
		}
		pkl, prefix = f, dir
	}
	if pkl == nil {
		if _, ok := entries[prefixOf(zr)+"constants.pkl"]; ok {
			return nil, "", fail("", fmt.Errorf("this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; %s", exportHint))
		}
		return nil, "", fail("", fmt.Errorf("no data.pkl in the archive: not a torch.save checkpoint; %s", exportHint))
	}
	bigEndian := false
	if f, ok := entries[prefix+"byteorder"]; ok {
		b, err := readEntry(f, 16)
		if err != nil {
			return nil, "", fail(f.Name, err)
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			bigEndian = true
		default:
			return nil, "", fail(f.Name, fmt.Errorf("unknown byte order %q (torch writes little or big)", b))
		}
	}
	for _, v := range []string{"version", ".data/version"} {
		f, ok := entries[prefix+v]
		if !ok {
			continue
		}
		b, err := readEntry(f, 32)
		if err != nil {
			return nil, "", fail(f.Name, err)
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil || n == 0 {
			return nil, "", fail(f.Name, fmt.Errorf("archive version %q is not a positive integer (torch.save writes 3)", b))
		}
	}
	if pkl.UncompressedSize64 > maxPickleBytes {
		return nil, "", fail(pkl.Name, fmt.Errorf("%d bytes, more than the %d ratesim reads", pkl.UncompressedSize64, maxPickleBytes))
	}
	data, err := readEntry(pkl, maxPickleBytes)
	if err != nil {
		return nil, "", fail(pkl.Name, err)
	}
	load := func(key string, need int64) ([]byte, error) {
		f, ok := entries[prefix+"data/"+key]
		if !ok {
			return nil, fmt.Errorf("storage file %sdata/%s is missing from the archive", prefix, key)
		}
		if int64(f.UncompressedSize64) < need || f.UncompressedSize64 > 1<<62 {
			return nil, fmt.Errorf("storage file %s holds %d bytes, the pickle needs %d", f.Name, f.UncompressedSize64, need)
		}
		b, err := readEntry(f, need)
		if err != nil {
			return nil, fmt.Errorf("storage file %s: %w", f.Name, err)
		}
		return b, nil
	}
	top, err := unpickle(data, load, bigEndian)
	if err != nil {
		var fg *forbiddenGlobalError
		if errors.As(err, &fg) {
			return nil, "", fail(pkl.Name, fmt.Errorf("%w; %s", err, exportHint))
		}
		return nil, "", fail(pkl.Name, err)
	}
	return top, pkl.Name, nil
}

func prefixOf(zr *zip.Reader) string {
	if len(zr.File) == 0 {
		return ""
	}
	dir, _, _ := strings.Cut(zr.File[0].Name, "/")
	return dir + "/"
}

// readEntry reads up to limit bytes of a zip entry; the buffer grows with
// the data actually read, so a lying size field cannot force a huge
// allocation.
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("cannot open zip entry: %v", err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, limit)); err != nil {
		return nil, fmt.Errorf("cannot read zip entry: %v", err)
	}
	return buf.Bytes(), nil
}

// fromPickle interprets the unpickled checkpoint.
func fromPickle(file, entry string, top any, ov Overrides) (*Model, error) {
	d, ok := top.(*pyDict)
	if !ok {
		return nil, &Error{File: file, Where: entry, Reason: fmt.Sprintf("holds a %s; want nn4n's {\"model_state_dict\": …, \"kwargs\": …} or a state dict", describe(top))}
	}
	format := "checkpoint"
	sdv, hasSD := d.get("model_state_dict")
	if !hasSD {
		if _, ok := d.get(KeyHiddenWeight); !ok {
			return nil, &Error{File: file, Where: entry, Reason: fmt.Sprintf("no \"model_state_dict\" and no %s; this is not an nn4n checkpoint (top-level keys: %s)", KeyHiddenWeight, strings.Join(limitList(d.stringKeys(), 12), ", "))}
		}
		sdv, format = d, "state dict checkpoint"
	}
	sdd, ok := sdv.(*pyDict)
	if !ok {
		return nil, &Error{File: file, Where: "model_state_dict", Reason: "is a " + describe(sdv) + ", not a dict"}
	}
	// Only the entries the import uses are read: a pickle may make many
	// views of one large storage, and materializing them all would let a
	// small file demand a huge amount of memory.
	sd := map[string]*array{}
	for _, ks := range stateKeys {
		v, ok := sdd.get(ks)
		if !ok {
			continue
		}
		where := "model_state_dict key " + ks
		t, ok := asTensor(v)
		if !ok {
			return nil, &Error{File: file, Where: where, Reason: "is a " + describe(v) + ", not a tensor"}
		}
		a, err := tensorArray(t, where)
		if err != nil {
			return nil, &Error{File: file, Where: where, Err: err}
		}
		sd[ks] = a
	}
	var ignored []string
	for _, k := range sdd.keys {
		if ks, ok := k.(string); ok && sd[ks] == nil {
			ignored = append(ignored, ks)
		}
	}
	var kw *kwargs
	if hasSD {
		kv, ok := d.get("kwargs")
		if ok && kv != nil {
			kd, ok := kv.(*pyDict)
			if !ok {
				return nil, &Error{File: file, Where: "kwargs", Reason: "is a " + describe(kv) + ", not a dict"}
			}
			var err error
			if kw, err = parseKwargs(file, kd); err != nil {
				return nil, err
			}
		} else {
			kw = &kwargs{notes: []string{"the checkpoint has no kwargs; nn4n's defaults apply"}}
		}
	}
	m, err := assemble(file, format, sd, kw, ov)
	if err != nil {
		return nil, err
	}
	if len(ignored) > 0 {
		m.Notes = append(m.Notes, "ignored state-dict entries: "+strings.Join(limitList(ignored, 20), ", "))
	}
	return m, nil
}

func limitList(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	return s
}

func asTensor(v any) (*Tensor, bool) {
	switch v := v.(type) {
	case *Tensor:
		return v, true
	case *npArray:
		if v.built {
			return v.t, true
		}
	}
	return nil, false
}

func tensorArray(t *Tensor, where string) (*array, error) {
	vals, err := t.Float64s()
	if err != nil {
		return nil, err
	}
	return &array{shape: t.Shape, vals: vals, dtype: t.DType, source: where}, nil
}

// kwargs are the settings nn4n's checkpoint keeps (only what the user passed).
type kwargs struct {
	dims                     []int
	activation               string
	dt, tau                  *float64
	tauVec                   []float64
	preact, postact          float64
	initState                []float64
	sparsity, ei, plasticity [3]*array
	notes                    []string
}

func parseKwargs(file string, d *pyDict) (*kwargs, error) {
	kw := &kwargs{}
	bad := func(key, format string, args ...any) error {
		return &Error{File: file, Where: "kwargs " + key, Reason: fmt.Sprintf(format, args...)}
	}
	number := func(key string, v any) (float64, error) {
		switch x := v.(type) {
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case bool:
			return 0, bad(key, "is a bool, want a number")
		}
		if t, ok := asTensor(v); ok && t.Size() == 1 {
			vals, err := t.Float64s()
			if err != nil {
				return 0, bad(key, "%v", err)
			}
			return vals[0], nil
		}
		return 0, bad(key, "is a %s, want a number", describe(v))
	}
	var ignored []string
	legacyDims := [3]int{1, 100, 1}
	hasLegacy := false
	for i, k := range d.keys {
		key, ok := k.(string)
		if !ok {
			continue
		}
		v := d.vals[i]
		switch key {
		case "dims":
			items, ok := sequence(v)
			if !ok || len(items) != 3 {
				return nil, bad(key, "is a %s, want [inputs, hidden, outputs]", describe(v))
			}
			kw.dims = make([]int, 3)
			for j, it := range items {
				n, ok := it.(int64)
				if !ok || n < 1 || n > 1<<30 {
					return nil, bad(key, "entry %d is a %s, want a positive int", j, describe(it))
				}
				kw.dims[j] = int(n)
			}
		case "input_dim", "hidden_size", "output_dim": // deprecated nn4n names
			n, ok := v.(int64)
			if !ok || n < 1 || n > 1<<30 {
				return nil, bad(key, "is a %s, want a positive int", describe(v))
			}
			legacyDims[map[string]int{"input_dim": 0, "hidden_size": 1, "output_dim": 2}[key]] = int(n)
			hasLegacy = true
		case "activation":
			s, ok := v.(string)
			if !ok {
				return nil, bad(key, "is a %s, want a string", describe(v))
			}
			kw.activation = s
		case "dt":
			x, err := number(key, v)
			if err != nil {
				return nil, err
			}
			kw.dt = &x
		case "tau":
			if t, ok := asTensor(v); ok && t.Size() != 1 {
				vals, err := t.Float64s()
				if err != nil {
					return nil, bad(key, "%v", err)
				}
				kw.tauVec = vals
				continue
			}
			if items, ok := sequence(v); ok {
				kw.tauVec = make([]float64, len(items))
				for j, it := range items {
					x, err := number(fmt.Sprintf("%s[%d]", key, j), it)
					if err != nil {
						return nil, err
					}
					kw.tauVec[j] = x
				}
				continue
			}
			x, err := number(key, v)
			if err != nil {
				return nil, err
			}
			kw.tau = &x
		case "preact_noise", "postact_noise":
			x, err := number(key, v)
			if err != nil {
				return nil, err
			}
			if key == "preact_noise" {
				kw.preact = x
			} else {
				kw.postact = x
			}
		case "init_state":
			if s, ok := v.(string); ok {
				switch s {
				case "zero", "learn":
				case "keep":
					kw.notes = append(kw.notes, "kwargs init_state 'keep' (carry the last state across forward calls) becomes a zero initial state; pass --init-state to ratesim run to start elsewhere")
				default:
					return nil, bad(key, "%q is not zero, keep or learn", s)
				}
				continue
			}
			t, ok := asTensor(v)
			if !ok {
				return nil, bad(key, "is a %s, want 'zero', 'keep', 'learn' or an array", describe(v))
			}
			vals, err := t.Float64s()
			if err != nil {
				return nil, bad(key, "%v", err)
			}
			kw.initState = vals
		case "sparsity_masks", "ei_masks", "plasticity_masks":
			if v == nil {
				continue
			}
			items, ok := sequence(v)
			if !ok || len(items) != 3 {
				return nil, bad(key, "is a %s, want None or a list of 3 (input, hidden, readout), each None or an array", describe(v))
			}
			dst := map[string]*[3]*array{"sparsity_masks": &kw.sparsity, "ei_masks": &kw.ei, "plasticity_masks": &kw.plasticity}[key]
			for j, it := range items {
				if it == nil {
					continue
				}
				where := fmt.Sprintf("kwargs %s[%d]", key, j)
				t, ok := asTensor(it)
				if !ok {
					return nil, &Error{File: file, Where: where, Reason: "is a " + describe(it) + ", want a tensor or numpy array"}
				}
				a, err := tensorArray(t, where)
				if err != nil {
					return nil, &Error{File: file, Where: where, Err: err}
				}
				dst[j] = a
			}
		case "weights", "biases":
			// The state dict holds the values the model has now.
		default:
			ignored = append(ignored, key)
		}
	}
	if hasLegacy && kw.dims == nil {
		kw.dims = legacyDims[:]
	}
	if len(ignored) > 0 {
		kw.notes = append(kw.notes, "kwargs not used by the import: "+strings.Join(ignored, ", "))
	}
	return kw, nil
}

func sequence(v any) ([]any, bool) {
	switch v := v.(type) {
	case *pyList:
		return v.items, true
	case pyTuple:
		return v, true
	}
	return nil, false
}

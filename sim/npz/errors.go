package npz

import (
	"errors"
	"strconv"
)

// Sentinel reasons, so callers can tell bad input from input that is merely
// outside what this package handles (errors.Is works on every *Error).
var (
	// ErrMalformed marks input that is not a valid .npy/.npz file.
	ErrMalformed = errors.New("malformed")
	// ErrUnsupported marks valid NumPy data using a feature this package does
	// not handle (dtype, format version, zip compression method).
	ErrUnsupported = errors.New("unsupported")
)

// Error is returned by every function in this package. It carries where the
// problem is, because a bare "truncated data" is useless when a run loads a
// dozen arrays.
type Error struct {
	File  string // path (or the name given to ReadNPYFrom)
	Array string // array inside an .npz archive, "" for a plain .npy
	Err   error  // the reason; may wrap ErrMalformed, ErrUnsupported or an OS error
}

func (e *Error) Error() string {
	s := "npz: " + e.File
	if e.Array != "" {
		s += ": array " + strconv.Quote(e.Array)
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

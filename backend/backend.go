package backend

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Backend runs programs. Implementations must be exact: for the same program
// every recorded value and final state is bit-identical to Reference.
type Backend interface {
	// Name is the registry name, e.g. "cpu" or "cuda".
	Name() string
	// Devices lists what the backend can run on; an error says why it cannot
	// run here (no driver, no device), in words a user can act on.
	Devices() ([]Device, error)
	Start32(p *Program[float32]) (Run[float32], error)
	Start64(p *Program[float64]) (Run[float64], error)
}

// Run is a program in progress on one backend.
type Run[T Float] interface {
	// Advance runs the next n ≥ 0 steps. input holds u for those steps,
	// laid out [K][B][n][I] (or [B][n][I] when the program's SharedInput is
	// set); nil means zero input. Recorded values go to out, which must have
	// room for Program.Record.Recorded(Done(), n) steps (see NewChunk).
	// A non-finite state stops the run with a *NonFiniteError.
	Advance(n int, input []T, out *Chunk[T]) error
	// Done is the number of steps run so far.
	Done() int
	// State copies the current v and r (each K × B × N) into v and r;
	// either may be nil.
	State(v, r []T) error
	// Close releases the run's resources.
	Close() error
}

// Feature names an optional part of the contract: a program that uses it
// runs only on a backend that declares it (Supports), and the conformance
// suite (backendtest) runs the feature's entry point in full only there;
// elsewhere it checks that Start refuses such programs.
type Feature uint8

const (
	// FeaturePlasticity is running programs with Plasticity.
	FeaturePlasticity Feature = iota
	numFeatures
)

var featureNames = [...]string{"plasticity"}

func (f Feature) String() string {
	if f < numFeatures {
		return featureNames[f]
	}
	return fmt.Sprintf("Feature(%d)", uint8(f))
}

// Features lists every feature, for tests and help texts.
func Features() []Feature { return upTo(numFeatures) }

// upTo lists the values 0 … n−1 of an enumeration.
func upTo[E ~uint8](n E) []E {
	es := make([]E, n)
	for i := range es {
		es[i] = E(i)
	}
	return es
}

// FeatureSupporter is implemented by backends that declare the optional
// features they support. Support is opt-in: a backend without the method
// supports none (but see PlasticityCapable).
type FeatureSupporter interface {
	Supports(f Feature) bool
}

// Supports reports whether b supports f: by b's Supports method when it has
// one; otherwise plasticity by PlasticityCapable, the older form of the
// same declaration, and nothing else.
func Supports(b Backend, f Feature) bool {
	if s, ok := b.(FeatureSupporter); ok {
		return s.Supports(f)
	}
	if f == FeaturePlasticity {
		c, ok := b.(PlasticityCapable)
		return ok && c.SupportsPlasticity()
	}
	return false
}

// Device describes one place a backend can run.
type Device struct {
	Name   string // e.g. "NVIDIA H100 80GB HBM3" or "2 CPU cores"
	Detail string // e.g. memory, compute capability, threads
}

// Start starts p on b in p's precision.
func Start[T Float](b Backend, p *Program[T]) (Run[T], error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := CheckFeatures(b, p); err != nil {
		return nil, err
	}
	switch q := any(p).(type) {
	case *Program[float32]:
		r, err := b.Start32(q)
		if err != nil {
			return nil, err
		}
		return any(r).(Run[T]), nil
	case *Program[float64]:
		r, err := b.Start64(q)
		if err != nil {
			return nil, err
		}
		return any(r).(Run[T]), nil
	}
	panic("backend: unreachable precision")
}

// NonFiniteError reports the first non-finite value of a run: the earliest
// step, then the lowest instance; within an instance's step its trials'
// states, rates and outputs (by trial, quantity, unit) come before the
// weights its update wrote (by trial, connection, pre, post).
type NonFiniteError struct {
	Instance, Trial, Step, Unit int
	// Quantity is "state", "rate", "output", or for a plastic program
	// "recurrent weight", "input weight" or "readout weight"; a weight's
	// Unit is its postsynaptic index and Pre its presynaptic one, and
	// Trial is −1 for weights shared by all trials.
	Quantity string
	Pre      int
	Value    float64
}

func (e *NonFiniteError) Error() string {
	if quantityRank(e.Quantity) >= 3 {
		trial := fmt.Sprintf("trial %d", e.Trial)
		if e.Trial < 0 {
			trial = "shared by all trials"
		}
		return fmt.Sprintf("non-finite %s %v at instance %d (%s), step %d, pre %d, post %d (learning rate too large, or no bounds?)",
			e.Quantity, e.Value, e.Instance, trial, e.Step, e.Pre, e.Unit)
	}
	return fmt.Sprintf("non-finite %s %v at instance %d, trial %d, step %d, unit %d (weights, gains or noise too large, or dt/tau unstable?)",
		e.Quantity, e.Value, e.Instance, e.Trial, e.Step, e.Unit)
}

// Before orders errors by (step, instance, dynamics before weights, trial,
// quantity order, pre, unit).
func (e *NonFiniteError) Before(o *NonFiniteError) bool {
	if o == nil {
		return true
	}
	re, ro := quantityRank(e.Quantity), quantityRank(o.Quantity)
	a := [7]int{e.Step, e.Instance, re / 3, e.Trial, re, e.Pre, e.Unit}
	b := [7]int{o.Step, o.Instance, ro / 3, o.Trial, ro, o.Pre, o.Unit}
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

func quantityRank(q string) int {
	switch q {
	case "state":
		return 0
	case "rate":
		return 1
	case "output":
		return 2
	case "recurrent weight":
		return 3
	case "input weight":
		return 4
	}
	return 5
}

// ErrClosed is returned by calls on a closed run.
var ErrClosed = errors.New("backend: run is closed")

// Registration is one registered backend.
type Registration struct {
	Backend Backend
	// Priority orders the choice of "auto": the highest-priority backend
	// that reports at least one device wins.
	Priority int
}

var (
	regMu    sync.Mutex
	registry = map[string]Registration{}
)

// Register makes a backend available by name. It panics if the name is
// taken, as database/sql does: two registrations are a programming error.
func Register(b Backend, priority int) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[b.Name()]; dup {
		panic("backend: Register called twice for " + b.Name())
	}
	registry[b.Name()] = Registration{b, priority}
}

// Registered lists the registered backends, highest priority first.
func Registered() []Registration {
	regMu.Lock()
	defer regMu.Unlock()
	rs := make([]Registration, 0, len(registry))
	for _, r := range registry {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Priority != rs[j].Priority {
			return rs[i].Priority > rs[j].Priority
		}
		return rs[i].Backend.Name() < rs[j].Backend.Name()
	})
	return rs
}

// Lookup returns the backend registered under name. "auto" (or "") picks the
// highest-priority backend that has a device.
func Lookup(name string) (Backend, error) {
	rs := Registered()
	if name == "" || name == "auto" {
		var why []string
		for _, r := range rs {
			devs, err := r.Backend.Devices()
			if err == nil && len(devs) > 0 {
				return r.Backend, nil
			}
			if err != nil {
				why = append(why, fmt.Sprintf("%s: %v", r.Backend.Name(), err))
			}
		}
		return nil, fmt.Errorf("no backend can run here (%s)", strings.Join(why, "; "))
	}
	for _, r := range rs {
		if r.Backend.Name() == name {
			if _, err := r.Backend.Devices(); err != nil {
				return nil, fmt.Errorf("backend %q cannot run here: %w", name, err)
			}
			return r.Backend, nil
		}
	}
	names := []string{"auto"}
	for _, r := range rs {
		names = append(names, r.Backend.Name())
	}
	hint := ""
	if name == "cuda" {
		hint = "; this binary was built without CUDA support (build it with `make cuda`)"
	}
	return nil, fmt.Errorf("unknown backend %q (this binary has: %s)%s", name, strings.Join(names, ", "), hint)
}

// MemoryEstimator is implemented by backends that hold a run in memory of
// their own, such as a GPU's. A driver asks for it with a type assertion
// before it builds anything, so that a program too large for the device is
// refused with the estimate instead of failing once it starts.
type MemoryEstimator interface {
	// EstimateMemory returns the device memory a program of size s needs
	// at the least (for a backend that splits programs into shards, its
	// smallest part that cannot be split further), the memory one run may
	// hold, and the device. An error says why no estimate can be made
	// (no device).
	EstimateMemory(s ProgramSize) (MemoryEstimate, error)
}

// MemoryEstimate is a backend's estimate of a program's device memory.
type MemoryEstimate struct {
	// Need is the least the program needs; Limit what one run may hold.
	Need, Limit int64
	// Device names the device, for messages.
	Device string
}

// ProgramSize is what a memory estimate needs to know of a program, without
// its arrays.
type ProgramSize struct {
	Shape
	Precision Precision
	// Plastic is nil for static weights.
	Plastic *PlasticSize
}

// PlasticSize is what a memory estimate needs to know of a program's
// Plasticity.
type PlasticSize struct {
	PerTrial bool
	// Connections in Layer order, nil where static.
	Connections [3]*ConnectionSize
}

// ConnectionSize is what a memory estimate needs to know of one plastic
// connection: per rule, whether it uses Adam and its average's window
// (0 when it keeps none or an exponential one).
type ConnectionSize struct {
	Adam    []bool
	Windows []int
}

// SizeOf is the size of p.
func SizeOf[T Float](p *Program[T]) ProgramSize {
	s := ProgramSize{Shape: p.Shape, Precision: PrecisionOf[T]()}
	if pl := p.Plasticity; pl != nil {
		s.Plastic = &PlasticSize{PerTrial: pl.PerTrial}
		for l, c := range pl.Connections() {
			if c == nil {
				continue
			}
			cs := &ConnectionSize{}
			for _, r := range c.Rules {
				cs.Adam = append(cs.Adam, r.Optimizer == Adam)
				cs.Windows = append(cs.Windows, r.Average.Window)
			}
			s.Plastic.Connections[l] = cs
		}
	}
	return s
}

//go:build cuda

package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
	"github.com/ratesim/ratesim/backend/dmath"
	"github.com/ratesim/ratesim/kernels"
)

// needDevice skips t when no GPU is visible. (Where no driver or device is
// present at all, gorgonia.org/cu's init exits the test binary before any
// test runs; see README.md.)
func needDevice(t testing.TB) {
	t.Helper()
	if devs, err := New().Devices(); err != nil || len(devs) == 0 {
		t.Skipf("no CUDA device visible: %v", err)
	}
}

func TestDevices(t *testing.T) {
	needDevice(t)
	devs, _ := New().Devices()
	for _, d := range devs {
		t.Logf("%s: %s", d.Name, d.Detail)
	}
}

func TestRegistered(t *testing.T) {
	b, err := backend.Lookup("cuda")
	if err != nil {
		t.Skipf("cuda backend cannot run here: %v", err)
	}
	if _, ok := b.(*Backend); !ok {
		t.Fatalf("Lookup(cuda) = %T, want *gpu.Backend", b)
	}
}

// The conformance suite, one test per entry point, each under every
// configuration (a subtest): the kernel chosen per program, each kernel
// forced, segments so small that every Advance is cut into several
// launches and partial copies, and a 1 MiB cap on a run, where the larger
// programs split into shards (configurations). TestRateForm samples the
// configurations on the emulator (rateFormEmulated).
func TestDynamics(t *testing.T)   { conformance(t, backendtest.Dynamics) }
func TestNonFinite(t *testing.T)  { conformance(t, backendtest.NonFinite) }
func TestPartition(t *testing.T)  { conformance(t, backendtest.Partition) }
func TestPlasticity(t *testing.T) { conformance(t, backendtest.Plasticity) }
func TestMisuse(t *testing.T)     { conformance(t, backendtest.Misuse) }
func TestDelays(t *testing.T)     { conformance(t, backendtest.Delays) }
func TestSparse(t *testing.T)     { conformance(t, backendtest.Sparse) }
func TestRateForm(t *testing.T) {
	if emulated {
		rateFormEmulated(t)
		return
	}
	conformance(t, backendtest.RateForm)
}

// Every entry point of the suite has its test above.
func TestEntryPoints(t *testing.T) {
	backendtest.Covers(t, TestDynamics, TestNonFinite, TestPartition, TestPlasticity, TestMisuse, TestDelays, TestSparse, TestRateForm)
}

// conformance runs one entry point of the suite on every configuration.
func conformance(t *testing.T, entry func(*testing.T, backend.Backend)) {
	needDevice(t)
	for _, c := range configurations() {
		t.Run(c.name, func(t *testing.T) { entry(t, c.b) })
	}
}

// rateFormEmulated is TestRateForm on the emulator, where the kernels run
// on the host, far slower than on a device, and the whole entry point on
// every configuration would take longer than the rest of the suite
// together: the whole entry point on the step and persistent
// configurations (between them every kernel path of the rate form: the
// step tiles with RK4's stage launches, the gathered drive, the
// persistent kernel's Euler step and RK4 stages, the plastic launches),
// and every case of
// backendtest.RateCases once more on one of the other configurations in
// turn (case i on the (i mod 6)-th, both precisions), so that each case
// also meets one of segments, trial blocks, Drive in global memory and
// shards. On a GPU TestRateForm runs the whole entry point everywhere.
func rateFormEmulated(t *testing.T) {
	needDevice(t)
	var others []config
	for _, c := range configurations() {
		if c.name == "step" || c.name == "persistent" {
			t.Run(c.name, func(t *testing.T) { backendtest.RateForm(t, c.b) })
			continue
		}
		others = append(others, c)
	}
	for i, rc := range backendtest.RateCases(testing.Short()) {
		c := others[i%len(others)]
		t.Run(c.name+"/f32/"+rc.String(), func(t *testing.T) {
			if err := backendtest.CheckRateCase[float32](c.b, rc); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(c.name+"/f64/"+rc.String(), func(t *testing.T) {
			if err := backendtest.CheckRateCase[float64](c.b, rc); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// config is one configuration of the backend the suite runs on.
type config struct {
	name string
	b    *Backend
}

// configurations are the suite's configurations: the kernel chosen per
// program, each kernel forced, segments so small that every Advance is
// cut into several launches and partial copies, the persistent kernel's
// variants, and a 1 MiB cap on a run, where the larger programs split
// into shards.
func configurations() []config {
	return []config{
		{"auto", New()},
		{"step", New(UseKernel(Step))},
		{"persistent", New(UseKernel(Persistent))},
		{"step-segments", New(UseKernel(Step), SegmentBytes(4<<10))},
		{"persistent-segments", New(UseKernel(Persistent), SegmentBytes(4<<10))},
		// The persistent kernel's other variants: Drive in global memory,
		// and a trial block that leaves a partial last block.
		{"persistent-wglobal", forcePersistent(New(UseKernel(Persistent)), 0, true)},
		{"persistent-tb3", forcePersistent(New(UseKernel(Persistent)), 3, false)},
		{"shards", New(MaxRunBytes(1<<20), SegmentBytes(4<<10))},
	}
}

// What the suite does not vary: nil input with inputs present (zero
// input), and recording only some quantities, or nothing.
func TestRecordAndInputVariants(t *testing.T) {
	needDevice(t)
	for _, k := range []Kernel{Step, Persistent} {
		for i, rec := range []backend.Record{
			{Outputs: true, Stride: 5}, {States: true, Stride: 3}, {Rates: true}, {},
		} {
			t.Run(fmt.Sprintf("%v/%d", k, i), func(t *testing.T) {
				c := backendtest.Case{Shape: backend.Shape{Instances: 3, Trials: 5, Units: 37, Inputs: 4, Outputs: 3},
					Activation: backend.Sigmoid, Noise: true, Init: true, Stride: 1, Steps: 41, Seed: uint64(10 + i)}
				p := backendtest.NewProgram[float32](c)
				p.Record = rec
				in := backendtest.NewInput(p, c.Steps, 3)
				if i%2 == 1 {
					in = nil
				}
				backendtest.Expect(t, New(UseKernel(k)), p, in, c.Steps, []int{13, 1, 40})
			})
		}
	}
}

// Every tile of the step kernel against the reference, whatever the
// heuristic would pick for these shapes.
func TestStepTiles(t *testing.T) {
	needDevice(t)
	for _, prec := range []backend.Precision{backend.F32, backend.F64} {
		for _, tl := range stepTiles[prec] {
			t.Run(fmt.Sprintf("%v/%s", prec, tl.suffix), func(t *testing.T) {
				c := backendtest.Case{Shape: backend.Shape{Instances: 2, Trials: tl.trials() + 3, Units: tl.units() + 5, Inputs: 3, Outputs: 2},
					Activation: backend.Tanh, Noise: true, Init: true, Sparse: true, Stride: 1, Steps: 30, Seed: 77}
				b := New(UseKernel(Step))
				forceTile(b, tl)
				if prec == backend.F32 {
					p := backendtest.NewProgram[float32](c)
					backendtest.Expect(t, b, p, backendtest.NewInput(p, c.Steps, 1), c.Steps, []int{7})
				} else {
					p := backendtest.NewProgram[float64](c)
					backendtest.Expect(t, b, p, backendtest.NewInput(p, c.Steps, 1), c.Steps, []int{7})
				}
			})
		}
	}
}

// deviceEval runs a test kernel over n elements with the given buffers:
// ins are copied in, outs allocated and copied back; args gives the
// kernel's arguments for the buffers' addresses (ins, then outs).
func deviceEval(t *testing.T, kernel string, n int, args func(ptrs []dptr) kernels.Args, ins [][]byte, outs [][]byte) {
	t.Helper()
	b := New()
	drv, err := b.open()
	if err != nil {
		t.Fatal(err)
	}
	err = drv.do(func(c calls) error {
		var ptrs []dptr
		defer func() {
			for _, p := range ptrs {
				c.free(p)
			}
		}()
		for _, a := range append(append([][]byte{}, ins...), outs...) {
			p, err := c.alloc(int64(len(a)), "test buffer")
			if err != nil {
				return err
			}
			ptrs = append(ptrs, p)
		}
		for i, a := range ins {
			if err := c.htod(ptrs[i], unsafe.Pointer(&a[0]), int64(len(a))); err != nil {
				return err
			}
		}
		if err := c.launch(nullStream, kernel, [3]uint32{uint32(ceilDiv(n, 128)), 1, 1}, [3]uint32{128, 1, 1}, 0, args(ptrs)); err != nil {
			return err
		}
		for i, a := range outs {
			if err := c.dtoh(unsafe.Pointer(&a[0]), ptrs[len(ins)+i], int64(len(a))); err != nil {
				return err
			}
		}
		return c.sync()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func bytesOf[T any](s []T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// Function numbers of kernels/mathcheck.cu.
var mathFuncs = []struct {
	name string
	f64  func(x, y float64) float64
	f32  func(x, y float32) float32
	lo   float64 // argument range of the random inputs
	hi   float64
}{
	{"Exp", func(x, _ float64) float64 { return dmath.Exp(x) }, func(x, _ float32) float32 { return dmath.Exp32(x) }, -750, 750},
	{"Expm1", func(x, _ float64) float64 { return dmath.Expm1(x) }, func(x, _ float32) float32 { return dmath.Expm1_32(x) }, -50, 50},
	{"Log", func(x, _ float64) float64 { return dmath.Log(x) }, func(x, _ float32) float32 { return dmath.Log32(x) }, 0, 1e6},
	{"Log1p", func(x, _ float64) float64 { return dmath.Log1p(x) }, func(x, _ float32) float32 { return dmath.Log1p32(x) }, -1, 10},
	{"Tanh", func(x, _ float64) float64 { return dmath.Tanh(x) }, func(x, _ float32) float32 { return dmath.Tanh32(x) }, -25, 25},
	{"Sigmoid", func(x, _ float64) float64 { return dmath.Sigmoid(x) }, func(x, _ float32) float32 { return dmath.Sigmoid32(x) }, -50, 50},
	{"Softplus", func(x, _ float64) float64 { return dmath.Softplus(x) }, func(x, _ float32) float32 { return dmath.Softplus32(x) }, -50, 50},
	{"Sin", func(x, _ float64) float64 { return dmath.Sin(x) }, func(x, _ float32) float32 { return dmath.Sin32(x) }, -1e6, 1e6},
	{"Cos", func(x, _ float64) float64 { return dmath.Cos(x) }, func(x, _ float32) float32 { return dmath.Cos32(x) }, -1e6, 1e6},
	{"SinPi", func(x, _ float64) float64 { return dmath.SinPi(x) }, func(x, _ float32) float32 { return dmath.SinPi32(x) }, -1e3, 1e3},
	{"CosPi", func(x, _ float64) float64 { return dmath.CosPi(x) }, func(x, _ float32) float32 { return dmath.CosPi32(x) }, -1e3, 1e3},
	{"Pow", dmath.Pow, dmath.Pow32, 0, 30},
}

// mathInputs returns special values, values near the functions' branch
// points, uniform values in [lo, hi] and arbitrary bit patterns.
func mathInputs(rng *rand.Rand, lo, hi float64, n int) []float64 {
	xs := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 2, 1e-300, -1e-300, 5e-324, math.MaxFloat64, -math.MaxFloat64,
		math.Inf(1), math.Inf(-1), math.NaN(), 0x1p-54, 0x1p-28, 0x1p-30, 22, -22, 34, 40, -40, 709.78, 710, -745.2, -746,
		0x1p19, 0x1p51, 0x1p53, 1e300, 0.25, 0.75, 1.5, math.Pi, math.Pi / 4, 0x1.6a09e667f3bcdp+00}
	for len(xs) < n {
		switch rng.IntN(4) {
		case 0:
			xs = append(xs, math.Float64frombits(rng.Uint64()))
		case 1:
			xs = append(xs, (rng.Float64()*2-1)*math.Pow(2, float64(rng.IntN(80)-60)))
		default:
			xs = append(xs, lo+(hi-lo)*rng.Float64())
		}
	}
	return xs
}

func sameBits64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

func sameBits32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// The device's dmath (kernels/dmath.cuh) against backend/dmath, bit for bit
// (NaN payloads aside: a NaN stops a run whatever its bits).
func TestMath(t *testing.T) {
	needDevice(t)
	const n = 100000
	for fn, mf := range mathFuncs {
		t.Run(mf.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(fn), 99))
			x := mathInputs(rng, mf.lo, mf.hi, n)
			y := mathInputs(rng, -4, 4, n)
			if mf.name == "Pow" {
				rng.Shuffle(len(y), func(i, j int) { y[i], y[j] = y[j], y[i] })
			}
			out := make([]float64, n)
			deviceEval(t, "mathcheck_f64", n, func(p []dptr) kernels.Args {
				return kernels.MathcheckArgs{Fn: int64(fn), X: p[0], Y: p[1], Out: p[2], N: n}
			}, [][]byte{bytesOf(x), bytesOf(y)}, [][]byte{bytesOf(out)})
			bad := 0
			for i := range x {
				if want := mf.f64(x[i], y[i]); !sameBits64(out[i], want) {
					if bad++; bad <= 5 {
						t.Errorf("f64 %s(%v, %v) = %v (%#x), Go %v (%#x)", mf.name, x[i], y[i], out[i], math.Float64bits(out[i]), want, math.Float64bits(want))
					}
				}
			}
			x32, y32, out32 := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range x {
				x32[i], y32[i] = float32(x[i]), float32(y[i])
			}
			deviceEval(t, "mathcheck_f32", n, func(p []dptr) kernels.Args {
				return kernels.MathcheckArgs{Fn: int64(fn), X: p[0], Y: p[1], Out: p[2], N: n}
			}, [][]byte{bytesOf(x32), bytesOf(y32)}, [][]byte{bytesOf(out32)})
			for i := range x32 {
				if want := mf.f32(x32[i], y32[i]); !sameBits32(out32[i], want) {
					if bad++; bad <= 10 {
						t.Errorf("f32 %s(%v, %v) = %v (%#x), Go %v (%#x)", mf.name, x32[i], y32[i], out32[i], math.Float32bits(out32[i]), want, math.Float32bits(want))
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d values differ", bad, 2*n)
			}
		})
	}
}

// The device's Philox and normal transforms (kernels/philox.cuh) against
// backend's, at coordinates that exercise every word and the truncations
// to 32 bits.
func TestRandom(t *testing.T) {
	needDevice(t)
	const n = 4096
	rng := rand.New(rand.NewPCG(5, 6))
	coords := make([]int64, 5*n)
	for i := 0; i < n; i++ {
		c := coords[5*i : 5*i+5]
		c[0], c[1], c[2], c[3], c[4] = rng.Int64N(backend.MaxInstances), rng.Int64N(1<<32), rng.Int64N(1<<40), rng.Int64N(1<<20), rng.Int64N(2)
		if i < 16 {
			c[0], c[1], c[2], c[3] = int64(i), 0, int64(i), int64(i)
		}
	}
	const seed = 0x0123456789abcdef
	words := make([]uint32, 4*n)
	n32 := make([]float32, n)
	n64 := make([]float64, n)
	deviceEval(t, "randcheck", n, func(p []dptr) kernels.Args {
		return kernels.RandcheckArgs{Coords: p[0], Seed: seed, Words: p[1], N32: p[2], N64: p[3], N: n}
	}, [][]byte{bytesOf(coords)}, [][]byte{bytesOf(words), bytesOf(n32), bytesOf(n64)})
	key := backend.SeedKey(seed)
	for i := 0; i < n; i++ {
		c := coords[5*i : 5*i+5]
		w := backend.Philox4x32(backend.Counter(int(c[0]), int(c[1]), int(c[2]), int(c[3]), backend.Purpose(c[4])), key)
		if [4]uint32(words[4*i:4*i+4]) != w {
			t.Fatalf("Philox at %v: device %x, Go %x", c, words[4*i:4*i+4], w)
		}
		if g, want := n32[i], backend.Normal32(w, c[3]&8 != 0); !sameBits32(g, want) {
			t.Fatalf("Normal32 at %v: device %v, Go %v", c, g, want)
		}
		if g, want := n64[i], backend.Normal64(w); !sameBits64(g, want) {
			t.Fatalf("Normal64 at %v: device %v, Go %v", c, g, want)
		}
	}
}

// A device error (here: a run too large for the device) comes back as an
// error, not a crash.
func TestOutOfMemory(t *testing.T) {
	needDevice(t)
	drv, err := New().open()
	if err != nil {
		t.Fatal(err)
	}
	err = drv.do(func(c calls) error {
		p, err := c.alloc(drv.info().totalMem*2, "test buffer")
		if err == nil {
			c.free(p)
		}
		return err
	})
	if err == nil {
		t.Fatal("allocating twice the device's memory succeeded")
	}
	t.Log(err)
}

// Programs larger than a run may hold are split into shards that together
// give the reference's bits: the whole suite under a 1 MiB cap (the
// "shards" configuration of conformance), where the larger cases split,
// and two programs checked to split by instances and, for one instance, by
// trials.
func TestShardSplits(t *testing.T) {
	needDevice(t)
	for _, c := range []struct {
		name      string
		shape     backend.Shape
		minShards int
	}{
		{"instances", backend.Shape{Instances: 6, Trials: 3, Units: 48, Inputs: 2, Outputs: 2}, 3},
		{"trials", backend.Shape{Instances: 1, Trials: 40, Units: 64, Inputs: 2, Outputs: 1}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			bc := backendtest.Case{Shape: c.shape, Activation: backend.Tanh, Noise: true, Init: true, Stride: 2, Steps: 30, Seed: 77}
			p := backendtest.NewProgram[float32](bc)
			p.Record = backend.Record{Rates: true, States: true, Outputs: true, Stride: 2}
			// The cap fits one instance's arrays and a few trials, not the whole.
			elem := int64(4)
			limit := runBytes(backend.Shape{Instances: 1, Trials: 2, Units: c.shape.Units, Inputs: 2, Outputs: 2}, int(elem), 4<<10)
			b := New(MaxRunBytes(limit), SegmentBytes(4<<10))
			r, err := b.Start32(p)
			if err != nil {
				t.Fatal(err)
			}
			sr, ok := r.(*shardedRun[float32])
			if !ok || len(sr.Partition().Parts) < c.minShards {
				t.Fatalf("Start32 under a %d-byte cap returned %T, want a sharded run of ≥ %d parts", limit, r, c.minShards)
			}
			r.Close()
			in := backendtest.NewInput(p, bc.Steps, 5)
			backendtest.Expect(t, b, p, in, bc.Steps, []int{7, 23})
		})
	}
}

// A single trial larger than the cap cannot be split: the error says so.
func TestShardTooLarge(t *testing.T) {
	needDevice(t)
	p := backendtest.NewProgram[float32](backendtest.Case{Shape: backend.Shape{Instances: 2, Trials: 2, Units: 64, Inputs: 1, Outputs: 1},
		Activation: backend.ReLU, Stride: 1, Steps: 1, Seed: 1})
	_, err := New(MaxRunBytes(1<<10), SegmentBytes(4<<10)).Start32(p)
	if err == nil || !strings.Contains(err.Error(), "one trial of 64 units") {
		t.Fatalf("Start32 with a 1 KiB cap: %v, want an error about one trial not fitting", err)
	}
}

// A shard that blows up stops the sharded run with the error one run gives:
// instance 2 of 4 explodes; the others keep finite values.
func TestShardNonFinite(t *testing.T) {
	needDevice(t)
	c := backendtest.Case{Shape: backend.Shape{Instances: 4, Trials: 3, Units: 48, Inputs: 1, Outputs: 1},
		Activation: backend.Identity, Init: true, Stride: 1, Steps: 300, Seed: 99}
	p := backendtest.NewProgram[float64](c)
	N, rows := p.Units, p.DriveRows()
	for j := 0; j < rows*N; j++ {
		p.Drive[2*rows*N+j] = 3
	}
	for i := 0; i < N; i++ {
		p.Alpha[2*N+i], p.Decay[2*N+i] = 1, 0
	}
	limit := runBytes(backend.Shape{Instances: 1, Trials: 3, Units: N, Inputs: 1, Outputs: 1}, 8, 4<<10)
	b := New(MaxRunBytes(limit), SegmentBytes(4<<10))
	want := backendtest.Expect(t, b, p, backendtest.NewInput(p, c.Steps, 7), c.Steps, []int{41})
	var nf *backend.NonFiniteError
	if !errors.As(want.Err, &nf) || nf.Instance != 2 {
		t.Fatalf("reference stopped with %v, want a non-finite value in instance 2", want.Err)
	}
}

// A real device fault (a kernel reading an unmapped address) is sticky:
// the driver reports it as a deviceFault, replaces the context, and the
// next run gets the reference's bits. Run it in a process of its own on a
// GPU (bench/gpu-run.sh does): if the driver cannot recover, every later
// test of the process would fail.
func TestStickyFaultRecovery(t *testing.T) {
	needDevice(t)
	if emulated {
		t.Skip("the emulator's faults are injected by TestFaultRecovery")
	}
	drv, err := New().open()
	if err != nil {
		t.Fatal(err)
	}
	var gen0 uint64
	err = drv.do(func(c calls) error {
		gen0 = c.generation()
		out, err := c.alloc(8*128, "test buffer")
		if err != nil {
			return err
		}
		// 1 TiB: an address no allocation of this process has.
		const bogus = dptr(1 << 40)
		args := kernels.MathcheckArgs{Fn: 0, X: bogus, Y: bogus, Out: out, N: 128}
		if err := c.launch(nullStream, "mathcheck_f64", [3]uint32{1, 1, 1}, [3]uint32{128, 1, 1}, 0, args); err != nil {
			return err
		}
		return c.sync()
	})
	if !isDeviceFault(err) {
		t.Fatalf("a kernel reading an unmapped address: %v, want a sticky device fault", err)
	}
	t.Logf("fault: %v", err)
	c := backendtest.Case{Shape: backend.Shape{Instances: 2, Trials: 3, Units: 40, Inputs: 2, Outputs: 2},
		Activation: backend.Tanh, Noise: true, Init: true, Stride: 1, Steps: 30, Seed: 3}
	p := backendtest.NewProgram[float32](c)
	backendtest.Expect(t, New(), p, backendtest.NewInput(p, c.Steps, 1), c.Steps, []int{11})
	_ = drv.do(func(c calls) error {
		if c.generation() != gen0+1 {
			t.Errorf("generation %d after one fault, want %d", c.generation(), gen0+1)
		}
		return nil
	})
}

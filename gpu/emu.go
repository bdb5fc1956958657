//go:build cuda && cudaemu

package gpu

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/gpu/internal/emu"
	"github.com/ratesim/ratesim/kernels"
)

// This file puts the backend on the host emulator of package
// gpu/internal/emu instead of a GPU: a binary built with the tags `cuda
// cudaemu` runs the CUDA kernels' sources as C++ on the CPU, slowly, with
// guard checks on every allocation. It exists to test the backend here.
//
// It behaves as the CUDA driver does where the backend's correctness
// depends on it, and adversarially where CUDA leaves an order open:
//
//   - One emulated context per process (sharedDriver), with generations: a
//     sticky fault (a kernel that wrote outside an allocation, a kernel
//     error, or a fault a test injects) is reported asynchronously, by the
//     next call that waits, and every call returns it until the next do
//     replaces the context, freeing all its memory.
//   - Streams are queues. Kernels and uploads run as soon as the work
//     before them on their stream has run (the device racing ahead);
//     copies to the host are delayed until something waits for them (an
//     event after them, a sync, a synchronous call), and the host buffer
//     they write is poisoned when they are queued. So a buffer reused while
//     its copy is pending, a copy that does not wait for its kernels, or a
//     host that reads before the event, gives wrong bits, not luck. Tests
//     can also make the device lag (nothing runs until waited for), which
//     exposes a pinned buffer the host refills before its upload ran.

// emuInfo describes the emulated device as an H100, so plans (tiles, trial
// blocks, shared memory) are the ones a real run would choose.
var emuInfo = deviceInfo{
	name: "ratesim CUDA emulator (host CPU)", totalMem: 80 << 30, major: 9, minor: 0,
	sms: 132, maxSharedOpt: 227 << 10, maxThreads: 1024,
}

// emulated says whether this build runs the kernels on the host emulator.
const emulated = true

func listDevices() ([]backend.Device, error) {
	return []backend.Device{{Name: emuInfo.name,
		Detail: fmt.Sprintf("kernels compiled as C++ for %s/%s, planned as an H100 (%d SMs)", runtime.GOOS, runtime.GOARCH, emuInfo.sms)}}, nil
}

type emuDriver struct {
	mu       sync.Mutex
	gen      uint64
	live     map[dptr]int64
	limit    int64 // bytes the emulated device holds
	used     int64
	hosts    map[unsafe.Pointer][]uint64 // pinned host buffers, kept alive here
	streams  map[stream]*emuStream
	events   map[event]emuMark
	handles  int
	fault    *deviceFault
	blocking bool

	// Test hooks (emu_test.go).
	inject     *emuInjection
	lagging    bool // nothing runs until forced: the device behind the host
	overlapped int  // kernels run while an older copy to the host was pending
	syncCalls  int  // synchronous copies and syncs (htod, dtoh, sync)
}

// emuInjection makes the launch of kernel after skip others fault.
type emuInjection struct {
	kernel string
	skip   int
}

// emuStream is a stream's queue: ops not yet run, and the counts of those
// queued and run so far (an op's position is its count).
type emuStream struct {
	ops          []emuOp
	queued, done uint64
}

// emuOp is one queued operation: a wait for a mark, or work (run); lazy
// work runs only when forced.
type emuOp struct {
	wait *emuMark
	lazy bool
	run  func()
}

// emuMark is a point in a stream: reached once done ≥ n.
type emuMark struct {
	s stream
	n uint64
}

func openDriver(ordinal int) (driver, error) {
	if ordinal != 0 {
		return nil, fmt.Errorf("cuda: no device %d (the emulator has one)", ordinal)
	}
	d := &emuDriver{limit: emuInfo.totalMem, blocking: launchBlockingEnv()}
	d.reset()
	return d, nil
}

// reset makes an empty context.
func (d *emuDriver) reset() {
	d.live, d.used, d.hosts = map[dptr]int64{}, 0, map[unsafe.Pointer][]uint64{}
	d.streams, d.events, d.fault = map[stream]*emuStream{}, map[event]emuMark{}, nil
}

// recreate replaces a faulted context: all its memory is freed.
func (d *emuDriver) recreate() {
	for p := range d.live {
		_ = emu.Free(emu.Ptr(p)) // a guard the fault overwrote is no news
	}
	d.gen++
	d.reset()
}

func (d *emuDriver) info() deviceInfo { return emuInfo }

func (d *emuDriver) do(f func(c calls) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fault != nil {
		d.recreate()
	}
	return f(d)
}

func (d *emuDriver) generation() uint64   { return d.gen }
func (d *emuDriver) launchBlocking() bool { return d.blocking }

func (d *emuDriver) reached(m emuMark) bool {
	st, ok := d.streams[m.s]
	return m.s == nullStream || !ok || st.done >= m.n
}

// handlesSorted lists the streams in a fixed order, so that runs are
// reproducible.
func (d *emuDriver) handlesSorted() []stream {
	hs := make([]stream, 0, len(d.streams))
	for h := range d.streams {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	return hs
}

func (d *emuDriver) step(st *emuStream) {
	op := st.ops[0]
	st.ops = st.ops[1:]
	if op.run != nil {
		op.run()
	}
	st.done++
}

// progress runs every op that is not lazy and not waiting (none when the
// device lags).
func (d *emuDriver) progress() {
	if d.lagging {
		return
	}
	for changed := true; changed; {
		changed = false
		for _, h := range d.handlesSorted() {
			st := d.streams[h]
			for len(st.ops) > 0 {
				op := st.ops[0]
				if op.lazy || op.wait != nil && !d.reached(*op.wait) {
					break
				}
				d.step(st)
				changed = true
			}
		}
	}
}

// force runs everything up to m, lazy ops and what they wait for included.
func (d *emuDriver) force(m emuMark) {
	st, ok := d.streams[m.s]
	if m.s == nullStream || !ok {
		return
	}
	for st.done < m.n {
		if w := st.ops[0].wait; w != nil {
			d.force(*w)
		}
		d.step(st)
	}
	d.progress()
}

// drain runs everything queued: what a synchronous call waits for.
func (d *emuDriver) drain() {
	for _, h := range d.handlesSorted() {
		d.force(emuMark{h, d.streams[h].queued})
	}
}

// enqueue queues op on s; on the null stream it runs after everything.
func (d *emuDriver) enqueue(s stream, op emuOp) (emuMark, error) {
	if s == nullStream {
		d.drain()
		if op.run != nil {
			op.run()
		}
		return emuMark{}, nil
	}
	st, ok := d.streams[s]
	if !ok {
		return emuMark{}, fmt.Errorf("cuda: stream %d is not of this context", s)
	}
	st.ops = append(st.ops, op)
	st.queued++
	d.progress()
	return emuMark{s, st.queued}, nil
}

func (d *emuDriver) alloc(n int64, what string) (dptr, error) {
	if d.fault != nil {
		return 0, d.fault
	}
	if d.used+n > d.limit {
		return 0, oomError(what, n, d.limit-d.used, d.limit)
	}
	a, err := emu.Alloc(n)
	if err != nil {
		return 0, err
	}
	p := dptr(a)
	d.live[p] = n
	d.used += n
	return p, nil
}

func (d *emuDriver) free(p dptr) {
	d.drain()
	n, ok := d.live[p]
	if !ok {
		panic(fmt.Sprintf("gpu: emulator: free of %#x, which is not allocated in this context", p))
	}
	d.used -= n
	delete(d.live, p)
	if err := emu.Free(emu.Ptr(p)); err != nil && d.fault == nil {
		// A kernel wrote past a buffer and no launch reported it: fail
		// loudly, this is a bug.
		panic(err)
	}
}

func (d *emuDriver) allocHost(n int64, what string) (hostBuf, error) {
	if d.fault != nil {
		return hostBuf{}, d.fault
	}
	b := make([]uint64, (n+7)/8)
	h := hostBuf{unsafe.Pointer(&b[0]), n}
	poison(h)
	d.hosts[h.p] = b
	return h, nil
}

func (d *emuDriver) freeHost(h hostBuf) {
	d.drain()
	if _, ok := d.hosts[h.p]; !ok {
		panic("gpu: emulator: free of a host buffer that is not allocated in this context")
	}
	delete(d.hosts, h.p)
}

// poison fills h with bytes 0xA5: finite floats and error keys that are
// not "no error", never what a copy would have written.
func poison(h hostBuf) {
	b := unsafe.Slice((*byte)(h.p), h.n)
	for i := range b {
		b[i] = 0xA5
	}
}

func (d *emuDriver) newStream() (stream, error) {
	if d.fault != nil {
		return 0, d.fault
	}
	d.handles++
	h := stream(d.handles)
	d.streams[h] = &emuStream{}
	return h, nil
}

func (d *emuDriver) destroyStream(s stream) {
	if st, ok := d.streams[s]; ok {
		d.force(emuMark{s, st.queued})
		delete(d.streams, s)
	}
}

func (d *emuDriver) newEvent() (event, error) {
	if d.fault != nil {
		return 0, d.fault
	}
	d.handles++
	h := event(d.handles)
	d.events[h] = emuMark{}
	return h, nil
}

func (d *emuDriver) destroyEvent(e event) { delete(d.events, e) }

func (d *emuDriver) htod(dst dptr, src unsafe.Pointer, n int64) error {
	return d.syncCopy(func() { emu.HtoD(emu.Ptr(dst), src, n) })
}

func (d *emuDriver) dtoh(dst unsafe.Pointer, src dptr, n int64) error {
	return d.syncCopy(func() { emu.DtoH(dst, emu.Ptr(src), n) })
}

// syncCopy is a synchronous copy as on CUDA's null stream: counted (tests
// assert Advance makes none), after every queued operation, and not at all
// once the context has faulted.
func (d *emuDriver) syncCopy(copy func()) error {
	d.syncCalls++
	if d.fault != nil {
		return d.fault
	}
	d.drain()
	if d.fault != nil {
		return d.fault
	}
	copy()
	return nil
}

func (d *emuDriver) htodAsync(dst dptr, src hostBuf, s stream) error {
	if d.fault != nil {
		return d.fault
	}
	// Read when it runs, as a DMA from pinned memory is.
	_, err := d.enqueue(s, emuOp{run: func() {
		if d.fault == nil {
			emu.HtoD(emu.Ptr(dst), src.p, src.n)
		}
	}})
	return err
}

func (d *emuDriver) dtohAsync(dst hostBuf, src dptr, s stream) error {
	if d.fault != nil {
		return d.fault
	}
	poison(dst)
	_, err := d.enqueue(s, emuOp{lazy: s != nullStream, run: func() {
		if d.fault == nil {
			emu.DtoH(dst.p, emu.Ptr(src), dst.n)
		}
	}})
	return err
}

// launch queues kernel on the emulator, which first checks args against the
// kernel's parameters: their names and number against kernels/args.go's
// table here, their kinds against the signature the C++ compiler saw when
// it runs (emu.Launch). A kernel that fails when it runs, or writes outside
// an allocation, is a device fault.
func (d *emuDriver) launch(s stream, kernel string, grid, block [3]uint32, shmem int, args kernels.Args) error {
	if d.fault != nil {
		return d.fault
	}
	if shmem > emuInfo.maxSharedOpt {
		return fmt.Errorf("cuda: kernel %s asks for %d bytes of shared memory, the device has %d", kernel, shmem, emuInfo.maxSharedOpt)
	}
	if err := kernels.CheckArgs(kernel, args); err != nil {
		return fmt.Errorf("emu: %w", err)
	}
	m, err := d.enqueue(s, emuOp{run: func() { d.run(kernel, grid, block, shmem, args) }})
	if err != nil {
		return err
	}
	if d.blocking {
		d.force(m)
		if d.fault != nil {
			return d.fault
		}
	}
	return nil
}

// run runs a queued kernel.
func (d *emuDriver) run(kernel string, grid, block [3]uint32, shmem int, args kernels.Args) {
	if d.fault != nil {
		return // a faulted context runs nothing more
	}
	for _, st := range d.streams {
		if slices.ContainsFunc(st.ops, func(op emuOp) bool { return op.lazy }) {
			d.overlapped++
			break
		}
	}
	if in := d.inject; in != nil && in.kernel == kernel {
		if in.skip > 0 {
			in.skip--
		} else {
			d.inject = nil
			d.fault = &deviceFault{name: "CUDA_ERROR_ILLEGAL_ADDRESS", msg: "an illegal memory access was encountered (injected into " + kernel + " by a test)"}
			return
		}
	}
	if err := emu.Launch(kernel, grid, block, shmem, args); err != nil {
		d.fault = &deviceFault{name: "CUDA_ERROR_LAUNCH_FAILED", msg: err.Error()}
		return
	}
	for p := range d.live {
		if err := emu.Check(emu.Ptr(p)); err != nil {
			d.fault = &deviceFault{name: "CUDA_ERROR_ILLEGAL_ADDRESS", msg: fmt.Sprintf("%v, by %s", err, kernel)}
			return
		}
	}
}

func (d *emuDriver) record(e event, s stream) error {
	if d.fault != nil {
		return d.fault
	}
	if _, ok := d.events[e]; !ok {
		return fmt.Errorf("cuda: event %d is not of this context", e)
	}
	if s == nullStream {
		d.drain()
		d.events[e] = emuMark{}
		return nil
	}
	st, ok := d.streams[s]
	if !ok {
		return fmt.Errorf("cuda: stream %d is not of this context", s)
	}
	d.events[e] = emuMark{s, st.queued}
	return nil
}

func (d *emuDriver) wait(s stream, e event) error {
	if d.fault != nil {
		return d.fault
	}
	m, ok := d.events[e]
	if !ok {
		return fmt.Errorf("cuda: event %d is not of this context", e)
	}
	if s == nullStream {
		d.force(m)
		return nil
	}
	_, err := d.enqueue(s, emuOp{wait: &m})
	return err
}

func (d *emuDriver) syncEvent(e event) error {
	if d.fault != nil {
		return d.fault
	}
	m, ok := d.events[e]
	if !ok {
		return fmt.Errorf("cuda: event %d is not of this context", e)
	}
	d.force(m)
	if d.fault != nil {
		return d.fault
	}
	return nil
}

func (d *emuDriver) sync() error {
	d.syncCalls++
	if d.fault != nil {
		return d.fault
	}
	d.drain()
	if d.fault != nil {
		return d.fault
	}
	return nil
}

package sweep

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"

	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/spec"
)

// networkKey is what a point's weights and masks are built from: its model
// section without the fields network.New reads only into the per-point
// dynamics (τ or α, and the two noise levels), plus its seed, dims and the
// directory its arrays are read from. Points of a sweep that differ only
// in those fields (or in the input, the recording, steps or trials) have
// the same key, and network.New would draw the same weights for them; so
// a chunk builds each key's network once (sharedNetworks).
//
// The key leaves out only fields known not to reach the weights; every
// other model field, present or future, is in it, so a new field that
// shapes the network can only make sharing rarer, never wrong.
func networkKey(s *spec.Spec) string {
	b, err := json.Marshal(withoutDynamics(s.Model))
	if err != nil {
		panic(fmt.Sprintf("sweep: model of a valid spec does not marshal: %v", err))
	}
	return fmt.Sprintf("%s|%d|%v|%s", b, s.Seed, s.Dims, s.Dir())
}

// withoutDynamics is m without the fields network.New reads only into the
// per-point dynamics: τ or α, and the two noise levels.
func withoutDynamics(m spec.Model) spec.Model {
	m.Tau, m.Alpha = spec.PerUnit{}, spec.PerUnit{}
	m.PreactNoise, m.PostactNoise = 0, 0
	return m
}

// sharedNetworks builds the network of every point of pts, drawing each
// distinct networkKey's weights once: a point whose key was built before
// gets that network's weights and masks with its own α, initial state and
// noise levels (the fields New fills per point, from its own Resolve).
// The result is what network.Build gives for each point, value for value
// (TestSharedNetworksEqualBuild), at a fraction of the cost when an axis
// sweeps only dynamics.
func sharedNetworks(pts []*Point) []*network.Network {
	nets := make([]*network.Network, len(pts))
	owner := make([]int, len(pts)) // the first point with the same key
	first := map[string]int{}
	var distinct []int
	for k, pt := range pts {
		key := networkKey(pt.Spec)
		if o, ok := first[key]; ok {
			owner[k] = o
			continue
		}
		first[key], owner[k] = k, k
		distinct = append(distinct, k)
	}
	// The distinct networks on every CPU at once: each is a pure function
	// of its point's spec (its own host random streams), so the order they
	// are built in cannot matter.
	parallel(len(distinct), func(i int) {
		k := distinct[i]
		nets[k] = network.Build(pts[k].Spec)
	})
	for k, pt := range pts {
		if owner[k] == k {
			continue
		}
		m, err := pt.Spec.Resolve()
		if err != nil {
			panic(fmt.Sprintf("sweep: point %d of a valid sweep does not resolve: %v", pt.Index, err))
		}
		net := *nets[owner[k]]
		net.Alpha, net.Init = m.Alpha, m.Init
		net.PreSigma, net.PostSigma = pt.Spec.PreactNoise, pt.Spec.PostactNoise
		nets[k] = &net
	}
	return nets
}

// parallel calls f(0) … f(n−1) on up to GOMAXPROCS goroutines and waits.
func parallel(n int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// inputKey is what a point's generated input depends on besides the
// group's shape, steps, trials and seed: its input section, its dt and
// the directory input files are read from.
func inputKey(s *spec.Spec) string {
	b, err := json.Marshal(s.Input)
	if err != nil {
		panic(fmt.Sprintf("sweep: input of a valid spec does not marshal: %v", err))
	}
	return fmt.Sprintf("%s|%v|%s", b, s.Dt, s.Dir())
}

// sameInput says whether every point of pts (one group) gets the same
// input, so their program can take it once (backend.Program.SharedInput).
func sameInput(pts []*Point) bool {
	k0 := inputKey(pts[0].Spec)
	for _, pt := range pts[1:] {
		if inputKey(pt.Spec) != k0 {
			return false
		}
	}
	return true
}

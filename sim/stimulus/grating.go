package stimulus

import (
	"fmt"
	"math"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/dmath"
)

// Grating forms.
const (
	// GratingDrifting is a grating travelling along its direction:
	// A·cos(K·(x cos g + y sin g) − ω·t − φ).
	GratingDrifting = "drifting"
	// GratingCounterphase is a standing grating whose contrast oscillates
	// in time: A·cos(K·(x cos g + y sin g) − φ)·cos(ω·t). This is what the
	// V1 layer-5 model's distributionInput_negative computes (it calls it
	// a moving bar).
	GratingCounterphase = "counterphase"
)

// GratingPopulation is one population's part of a grating: its units (the
// next Size positions) and the grating they see.
type GratingPopulation struct {
	Size int `yaml:"size"`
	// Amplitude A, spatial frequency K (radians per unit of position; the
	// disc of DiscPositions has radius 1), temporal frequency ω (radians per
	// ms, or per step under L5Compat) and spatial phase φ (radians).
	Amplitude    float64 `yaml:"amplitude"`
	SpatialFreq  float64 `yaml:"spatial_freq"`
	TemporalFreq float64 `yaml:"temporal_freq"`
	SpatialPhase float64 `yaml:"spatial_phase"`
	// Steady holds the grating at t = 0 (no time dependence).
	Steady bool `yaml:"steady,omitempty"`
}

// Grating is a sinusoidal grating stimulus over units with positions in the
// plane, shown in one of several directions; each unit receives the value
// of the grating at its position. The input of step k (the value that
// drives the update from r_k to r_{k+1}, k = 0, 1, …) is at time t = k·Dt
// ms.
//
// L5Compat reproduces the V1 layer-5 model's distributionInput_negative
// (the original Jieran-S/L5Neuron_RateModel code) bit for bit up to its cosines, with its
// three peculiarities:
//   - time is the step index: the temporal factor is cos(ω·k), whatever Dt
//     is. With L5's ω = 50 (meant as a frequency) this aliases to
//     cos(0.26548·k), a period of 23.67 steps;
//   - a direction of d degrees is the angle fl(d·π/180) (Python's
//     math.radians) and its cosine and sine are taken of that rounded
//     angle, so cos 90° = 6.1e-17 rather than 0; without L5Compat the
//     cosine and sine are dmath.CosPi/SinPi(d/180), exact at multiples of
//     90°;
//   - a Steady population receives S·cos(ω) (L5 multiplies the steady
//     input by cos(temporalF)); without L5Compat it receives S.
//
// The operation order is L5's: arg = fl(fl(fl(K·x)·cos g) + fl(fl(K·y)·sin g)) − φ,
// S = fl(A·cos(arg)), and for the counterphase form I = fl(S·cos(ω·t)).
// The drifting form is fl(A·cos(fl(arg − fl(ω·t)))). Every cosine is
// backend/dmath's, so the values are the same on every machine.
type Grating struct {
	Populations []GratingPopulation `yaml:"populations"`
	// X and Y are the units' positions, population after population
	// (see DiscPositions).
	X []float64 `yaml:"x"`
	Y []float64 `yaml:"y"`
	// Directions are in degrees (L5: 0, 90, 180, 270).
	Directions []float64 `yaml:"directions"`
	// Form is GratingDrifting (the default, "") or GratingCounterphase.
	Form string `yaml:"form,omitempty"`
	// Dt is the step length in ms; unused under L5Compat.
	Dt       float64 `yaml:"dt"`
	L5Compat bool    `yaml:"l5_compat,omitempty"`
}

// Units is the number of units the grating drives.
func (g *Grating) Units() int {
	n := 0
	for _, p := range g.Populations {
		n += p.Size
	}
	return n
}

// Check reports what makes the grating unusable.
func (g *Grating) Check() error {
	n := 0
	for i, p := range g.Populations {
		if p.Size < 0 {
			return fmt.Errorf("grating: population %d has size %d", i, p.Size)
		}
		for _, v := range []float64{p.Amplitude, p.SpatialFreq, p.TemporalFreq, p.SpatialPhase} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("grating: population %d has a parameter that is not finite", i)
			}
		}
		n += p.Size
	}
	if len(g.X) != n || len(g.Y) != n {
		return fmt.Errorf("grating: %d x and %d y positions for %d units", len(g.X), len(g.Y), n)
	}
	for i := range g.X {
		if math.IsNaN(g.X[i]) || math.IsInf(g.X[i], 0) || math.IsNaN(g.Y[i]) || math.IsInf(g.Y[i], 0) {
			return fmt.Errorf("grating: position %d is not finite", i)
		}
	}
	if len(g.Directions) == 0 {
		return fmt.Errorf("grating: no directions")
	}
	for _, d := range g.Directions {
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return fmt.Errorf("grating: direction %v is not finite", d)
		}
	}
	switch g.Form {
	case "", GratingDrifting, GratingCounterphase:
	default:
		return fmt.Errorf("grating: unknown form %q (%s, %s)", g.Form, GratingDrifting, GratingCounterphase)
	}
	if !g.L5Compat && !(g.Dt > 0) {
		return fmt.Errorf("grating: dt must be > 0 ms, got %v", g.Dt)
	}
	return nil
}

// DirectionCosSin returns cos g and sin g of direction d (degrees) as the
// grating uses them (see L5Compat).
func (g *Grating) DirectionCosSin(d int) (c, s float64) {
	deg := g.Directions[d]
	if g.L5Compat {
		rad := float64(deg * (math.Pi / 180)) // Python's math.radians
		return dmath.Cos(rad), dmath.Sin(rad)
	}
	return dmath.CosPi(deg / 180), dmath.SinPi(deg / 180)
}

// population returns the population of unit i.
func (g *Grating) population(i int) *GratingPopulation {
	for p := range g.Populations {
		if i < g.Populations[p].Size {
			return &g.Populations[p]
		}
		i -= g.Populations[p].Size
	}
	panic(fmt.Sprintf("grating: unit %d out of range", i))
}

// arg is the spatial phase of unit i in direction d, in L5's order.
func arg(p *GratingPopulation, x, y, c, s float64) float64 {
	return float64(float64(float64(p.SpatialFreq*x)*c)+float64(float64(p.SpatialFreq*y)*s)) - p.SpatialPhase
}

// Spatial returns S_i = A·cos(arg_i) of every unit for direction d: the
// counterphase grating's value at t = 0.
func (g *Grating) Spatial(d int) []float64 {
	c, s := g.DirectionCosSin(d)
	out := make([]float64, 0, len(g.X))
	i := 0
	for p := range g.Populations {
		pop := &g.Populations[p]
		for range pop.Size {
			out = append(out, float64(pop.Amplitude*dmath.Cos(arg(pop, g.X[i], g.Y[i], c, s))))
			i++
		}
	}
	return out
}

// phase is ω·t of population p at step k (0 for a steady population
// without L5Compat, ω under it).
func (g *Grating) phase(p *GratingPopulation, k int) float64 {
	switch {
	case p.Steady && g.L5Compat:
		return p.TemporalFreq
	case p.Steady:
		return 0
	case g.L5Compat:
		return float64(p.TemporalFreq * float64(k))
	}
	return float64(p.TemporalFreq * float64(float64(k)*g.Dt))
}

// Temporal returns the counterphase grating's temporal factor cos(ω·t) of
// population p at step k.
func (g *Grating) Temporal(p, k int) float64 {
	return dmath.Cos(g.phase(&g.Populations[p], k))
}

// Fill writes the input of steps k0 … k0+len(out)/n−1 in direction d into
// out, row-major (steps, units), n = Units(); out's length must be a
// multiple of n. A run that fills chunk after chunk should use a
// GratingFiller, which computes each direction's spatial pattern once.
func (g *Grating) Fill(d, k0 int, out []float64) {
	g.Filler().Fill(d, k0, out)
}

// GratingFiller fills a grating's input chunk after chunk (the same values
// as Grating.Fill), keeping what does not change between chunks: each
// direction's spatial pattern of a counterphase grating, and the temporal
// factors cos(ω·t) of the chunk's steps, which are the same in every
// direction. It is not safe for concurrent use.
type GratingFiller struct {
	g       *Grating
	spatial [][]float64 // per direction, computed on first use
	// temporal holds cos(phase) for rows k0 … k0+len/P−1, P populations.
	temporal []float64
	tempK0   int
}

// Filler returns a GratingFiller of g; g must not change while it is used.
func (g *Grating) Filler() *GratingFiller {
	return &GratingFiller{g: g, spatial: make([][]float64, len(g.Directions))}
}

// Fill is Grating.Fill.
func (f *GratingFiller) Fill(d, k0 int, out []float64) {
	g := f.g
	n := g.Units()
	if n == 0 {
		return
	}
	if len(out)%n != 0 {
		panic(fmt.Sprintf("grating: %d values for %d units", len(out), n))
	}
	rows, P := len(out)/n, len(g.Populations)
	if f.tempK0 != k0 || len(f.temporal) < rows*P {
		f.temporal, f.tempK0 = f.temporal[:0], k0
		for row := range rows {
			for p := range g.Populations {
				f.temporal = append(f.temporal, dmath.Cos(g.phase(&g.Populations[p], k0+row)))
			}
		}
	}
	cg, sg := g.DirectionCosSin(d)
	counter := g.Form == GratingCounterphase
	if counter && f.spatial[d] == nil {
		f.spatial[d] = g.Spatial(d)
	}
	spatial := f.spatial[d]
	for row := range rows {
		k := k0 + row
		i := 0
		for p := range g.Populations {
			pop := &g.Populations[p]
			if counter {
				c := f.temporal[row*P+p]
				o, s := out[row*n+i:row*n+i+pop.Size], spatial[i:i+pop.Size]
				for j, a := range s {
					o[j] = float64(a * c)
				}
				i += pop.Size
				continue
			}
			ph := g.phase(pop, k)
			for range pop.Size {
				out[row*n+i] = float64(pop.Amplitude * dmath.Cos(arg(pop, g.X[i], g.Y[i], cg, sg)-ph))
				i++
			}
		}
	}
}

// Value is the input of unit i at step k in direction d.
func (g *Grating) Value(d, i, k int) float64 {
	p := g.population(i)
	cg, sg := g.DirectionCosSin(d)
	a := arg(p, g.X[i], g.Y[i], cg, sg)
	ph := g.phase(p, k)
	if g.Form == GratingCounterphase {
		return float64(float64(p.Amplitude*dmath.Cos(a)) * dmath.Cos(ph))
	}
	return float64(p.Amplitude * dmath.Cos(a-ph))
}

// DiscPositions returns n positions uniform in the unit disc: unit i has
// radius √u(2i) and angle 2π·u(2i+1), u uniform in (0, 1), so
// x = √u(2i)·cos(2π·u(2i+1)) and y = √u(2i)·sin(2π·u(2i+1)) (L5 draws
// the same distribution, as √U(0,1)·cos(π·U(0,2)), from numpy's stream).
// The cosine and sine are dmath.CosPi/SinPi of 2u, reduced exactly.
func DiscPositions(n int, u func(i int) float64) (x, y []float64) {
	x, y = make([]float64, n), make([]float64, n)
	for i := range n {
		r, t := math.Sqrt(u(2*i)), float64(2*u(2*i+1))
		x[i], y[i] = float64(r*dmath.CosPi(t)), float64(r*dmath.SinPi(t))
	}
	return x, y
}

// HostDiscPositions is DiscPositions drawn from host stream `stream` of the
// seed (backend.HostUniform at index 2i and 2i+1).
func HostDiscPositions(seed uint64, stream, n int) (x, y []float64) {
	return DiscPositions(n, func(i int) float64 { return backend.HostUniform(seed, stream, i) })
}

package dmath

import (
	"math/rand/v2"
	"testing"
)

// Benchmarks evaluate each function over 1024 inputs drawn from the
// accuracy generators (so they include the slow paths in their natural
// proportion); ns/op is per call.

var (
	sink64 float64
	sink32 float32
)

func benchInputs(name string, gen func(*rand.Rand) float64) []float64 {
	r := newRand("bench/" + name)
	xs := make([]float64, 1024)
	for i := range xs {
		xs[i] = gen(r)
	}
	return xs
}

func bench64(b *testing.B, f func(float64) float64, gen func(*rand.Rand) float64) {
	xs := benchInputs(b.Name(), gen)
	var s float64
	i := 0
	for b.Loop() {
		s += f(xs[i&1023])
		i++
	}
	sink64 = s
}

func bench32(b *testing.B, f func(float32) float32, gen func(*rand.Rand) float64) {
	xs64 := benchInputs(b.Name(), gen)
	xs := make([]float32, len(xs64))
	for i, x := range xs64 {
		xs[i] = float32(x)
	}
	var s float32
	i := 0
	for b.Loop() {
		s += f(xs[i&1023])
		i++
	}
	sink32 = s
}

func moderate(r *rand.Rand) float64 { return unif(r, -10, 10) }
func positive(r *rand.Rand) float64 { return unif(r, 0, 100) }
func unit(r *rand.Rand) float64     { return unif(r, -0.9, 10) }

func BenchmarkExp(b *testing.B)      { bench64(b, Exp, moderate) }
func BenchmarkExpm1(b *testing.B)    { bench64(b, Expm1, moderate) }
func BenchmarkLog(b *testing.B)      { bench64(b, Log, positive) }
func BenchmarkLog1p(b *testing.B)    { bench64(b, Log1p, unit) }
func BenchmarkTanh(b *testing.B)     { bench64(b, Tanh, moderate) }
func BenchmarkSigmoid(b *testing.B)  { bench64(b, Sigmoid, moderate) }
func BenchmarkSoftplus(b *testing.B) { bench64(b, Softplus, moderate) }
func BenchmarkSin(b *testing.B)      { bench64(b, Sin, moderate) }
func BenchmarkCos(b *testing.B)      { bench64(b, Cos, moderate) }
func BenchmarkSinHuge(b *testing.B) {
	bench64(b, Sin, func(r *rand.Rand) float64 { return logMag(r, 20, 1000) })
}
func BenchmarkSinPi(b *testing.B) { bench64(b, SinPi, moderate) }
func BenchmarkCosPi(b *testing.B) { bench64(b, CosPi, moderate) }
func BenchmarkPow(b *testing.B) {
	r := newRand("bench/pow")
	xs := make([][2]float64, 1024)
	for i := range xs {
		xs[i] = [2]float64{unif(r, 0, 100), unif(r, -20, 20)}
	}
	var s float64
	i := 0
	for b.Loop() {
		p := xs[i&1023]
		s += Pow(p[0], p[1])
		i++
	}
	sink64 = s
}

func BenchmarkExp32(b *testing.B)      { bench32(b, Exp32, moderate) }
func BenchmarkExpm1_32(b *testing.B)   { bench32(b, Expm1_32, moderate) }
func BenchmarkLog32(b *testing.B)      { bench32(b, Log32, positive) }
func BenchmarkLog1p32(b *testing.B)    { bench32(b, Log1p32, unit) }
func BenchmarkTanh32(b *testing.B)     { bench32(b, Tanh32, moderate) }
func BenchmarkSigmoid32(b *testing.B)  { bench32(b, Sigmoid32, moderate) }
func BenchmarkSoftplus32(b *testing.B) { bench32(b, Softplus32, moderate) }
func BenchmarkSin32(b *testing.B)      { bench32(b, Sin32, moderate) }
func BenchmarkCos32(b *testing.B)      { bench32(b, Cos32, moderate) }
func BenchmarkSinPi32(b *testing.B)    { bench32(b, SinPi32, moderate) }
func BenchmarkCosPi32(b *testing.B)    { bench32(b, CosPi32, moderate) }
func BenchmarkPow32(b *testing.B) {
	r := newRand("bench/pow32")
	xs := make([][2]float32, 1024)
	for i := range xs {
		xs[i] = [2]float32{float32(unif(r, 0, 100)), float32(unif(r, -20, 20))}
	}
	var s float32
	i := 0
	for b.Loop() {
		p := xs[i&1023]
		s += Pow32(p[0], p[1])
		i++
	}
	sink32 = s
}

package backend_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// The digests pin the contract itself: the reference's output for fixed
// programs, every activation with noise, in both precisions. They change only
// when the numeric contract changes (an operation's order, a dmath algorithm,
// the RNG layout) or when the compiler fuses what it must not — `make test`
// runs this again with GOAMD64=v3 to catch the latter. (The programs come from
// math/rand/v2, whose PCG stream Go keeps stable.) A deliberate contract
// change updates them and says so in the commit.
var golden = map[string]string{
	"f32": "387e0a4847eeb4665cbfd7706a998f9e7dbcd6eda1f54fb1cf866b4f44902521",
	"f64": "aecfa3faf75044f7a9fac9931a34c87118fe3c65ba44e93688a6f8aa6ae61cc3",
}

func TestReferenceGoldenDigest(t *testing.T) {
	for _, prec := range []string{"f32", "f64"} {
		h := sha256.New()
		for i, a := range backend.Activations() {
			c := backendtest.Case{Shape: backend.Shape{Instances: 2, Trials: 3, Units: 37, Inputs: 2, Outputs: 2},
				Activation: a, Noise: true, Init: true, Sparse: i%2 == 0, Stride: 1, Steps: 40, Seed: uint64(100 + i)}
			if prec == "f32" {
				digest[float32](t, h, c)
			} else {
				digest[float64](t, h, c)
			}
		}
		got := hex.EncodeToString(h.Sum(nil))
		if golden[prec] != got {
			t.Errorf("%s reference digest = %s, want %s: the numeric contract changed", prec, got, golden[prec])
		}
	}
}

func digest[T backend.Float](t *testing.T, h interface{ Write([]byte) (int, error) }, c backendtest.Case) {
	p := backendtest.NewProgram[T](c)
	res, err := backendtest.RunChunked(backend.Reference, p, backendtest.NewInput(p, c.Steps, c.Seed), c.Steps, nil)
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	var buf [8]byte
	for _, a := range [][]T{res.Rates, res.States, res.Outputs, res.V} {
		for _, x := range a {
			binary.LittleEndian.PutUint64(buf[:], backendtest.Bits(x))
			h.Write(buf[:])
		}
	}
}

package kernels

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every .cu has its module, every module its .cu, and every kernel entry in
// the PTX is in the table (gen.sh -check also compares the bytes, but needs
// nvcc; this runs everywhere).
func TestModulesMatchSources(t *testing.T) {
	cus, err := filepath.Glob("*.cu")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cus {
		names = append(names, strings.TrimSuffix(c, ".cu"))
	}
	if got := Modules(); strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("modules %v, .cu files %v: run kernels/gen.sh", got, names)
	}
	entry := regexp.MustCompile(`(?m)^\.visible \.entry ([A-Za-z_][A-Za-z0-9_]*)\(`)
	n := 0
	for _, m := range Modules() {
		for _, e := range entry.FindAllStringSubmatch(PTX(m), -1) {
			n++
			if got, ok := ModuleOf(e[1]); !ok || got != m {
				t.Errorf("kernel %s of module %s: table says %q, %v", e[1], m, got, ok)
			}
		}
	}
	if n != len(Kernels()) {
		t.Errorf("%d entries in the PTX, %d in the table", n, len(Kernels()))
	}
}

// The exact path must not contain fused or approximate arithmetic, nor
// flush subnormals to zero: the PTX is the proof that nvcc obeyed the flags
// and the intrinsics.
func TestPTXIsExact(t *testing.T) {
	bad := regexp.MustCompile(`(?m)^\s*(fma\.|mad\.(rn|rz|rm|rp)?\.?f|[a-z0-9]+\.approx|[a-z0-9.]+\.ftz)`)
	for _, m := range Modules() {
		if loc := bad.FindStringIndex(PTX(m)); loc != nil {
			line := strings.Count(PTX(m)[:loc[0]], "\n") + 1
			t.Errorf("ptx/%s.ptx:%d: %q: fused, approximate or flush-to-zero arithmetic", m, line,
				strings.TrimSpace(strings.SplitN(PTX(m)[loc[0]:], "\n", 2)[0]))
		}
	}
}

func TestPTXFlags(t *testing.T) {
	for _, f := range []string{"-fmad=false", "-prec-div=true", "-prec-sqrt=true", "-ftz=false"} {
		if !strings.Contains(NVCCFlags, f) {
			t.Errorf("NVCCFlags %q lacks %s", NVCCFlags, f)
		}
	}
	if _, err := os.Stat("gen.sh"); err != nil {
		t.Error(err)
	}
}

// Every module has a fat binary in the format the driver loads (its magic
// number, little-endian 0xBA55ED50); gen.sh -check proves it fresh.
func TestImagesAreFatBinaries(t *testing.T) {
	for _, m := range Modules() {
		img := Image(m)
		if len(img) < 16 || img[:4] != "\x50\xed\x55\xba" {
			t.Errorf("module %s: the image (%d bytes) is not a fat binary", m, len(img))
		}
	}
}

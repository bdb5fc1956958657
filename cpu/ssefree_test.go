package cpu

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKernelsHaveNoLegacySSE holds the generated kernels (*_amd64.s) to
// VEX/EVEX instructions on vector registers: one legacy-SSE instruction
// at a kernel's entry (avo's MOVSD load of a float parameter) cost ~0.8 µs
// a call on an Intel Xeon, which made the L5 Euler row kernel 2.6× slower
// (asmgen's broadcastParam says more). Any instruction naming an X
// register must be a V-prefixed one.
func TestKernelsHaveNoLegacySSE(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated kernels found (%v)", err)
	}
	xreg := regexp.MustCompile(`\bX([0-9]|[12][0-9]|3[01])\b`)
	checked := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			text := strings.TrimSpace(sc.Text())
			if text == "" || strings.HasPrefix(text, "//") || strings.HasPrefix(text, "#") || strings.HasSuffix(text, ":") {
				continue
			}
			if !xreg.MatchString(text) {
				continue
			}
			checked++
			if !strings.HasPrefix(strings.Fields(text)[0], "V") {
				t.Errorf("%s:%d: legacy-SSE instruction %q on a vector register (use its VEX form)", name, line, text)
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if checked == 0 {
		t.Fatal("no instruction on an X register found: the scan reads nothing")
	}
}

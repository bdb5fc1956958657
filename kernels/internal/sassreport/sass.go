package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// An Instr is one SASS instruction as cuobjdump -sass prints it.
type Instr struct {
	Addr   int64  // byte offset in the function
	Op     string // opcode with its modifiers, e.g. "FADD", "LDS.128", "ISETP.GE.AND"
	Target int64  // branch target of a BRA, −1 otherwise
}

// Base is the opcode without modifiers ("LDS.128" → "LDS").
func (in Instr) Base() string {
	b, _, _ := strings.Cut(in.Op, ".")
	return b
}

// A Function is one kernel's machine code.
type Function struct {
	Name   string
	Instrs []Instr
}

var (
	funcLine  = regexp.MustCompile(`^\s*Function\s*:\s*(\S+)`)
	instrLine = regexp.MustCompile(`^\s*/\*([0-9a-f]{4,})\*/\s+(?:\{\s*)?(?:@!?U?P[T0-9]\s+)?([A-Z][A-Z0-9_.]*)([^;]*);`)
	braTarget = regexp.MustCompile(`^\s*(?:U?P[T0-9]\s*,\s*)?(?:!?U?P[T0-9]\s*,\s*)?(0x[0-9a-f]+)`)
)

// ParseSASS reads the output of cuobjdump -sass (one or more functions).
// Lines that are not instructions (headers, the second half of each
// encoding) are skipped.
func ParseSASS(r io.Reader) ([]Function, error) {
	var fs []Function
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := funcLine.FindStringSubmatch(line); m != nil {
			fs = append(fs, Function{Name: m[1]})
			continue
		}
		m := instrLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if len(fs) == 0 {
			return nil, fmt.Errorf("sass: instruction before any Function header: %q", line)
		}
		addr, err := strconv.ParseInt(m[1], 16, 64)
		if err != nil {
			return nil, err
		}
		in := Instr{Addr: addr, Op: m[2], Target: -1}
		if in.Base() == "BRA" {
			if t := braTarget.FindStringSubmatch(m[3]); t != nil {
				in.Target, err = strconv.ParseInt(t[1][2:], 16, 64)
				if err != nil {
					return nil, err
				}
			}
		}
		f := &fs[len(fs)-1]
		f.Instrs = append(f.Instrs, in)
	}
	return fs, sc.Err()
}

// A Loop is the range of instructions from a backward branch's target to
// the branch itself.
type Loop struct {
	Start, End int64 // addresses of the first instruction and of the branch
	Innermost  bool  // no other loop lies strictly inside it
	Mix        Mix
}

// Mix counts instructions by kind.
type Mix struct {
	All   int // every instruction
	FP    int // FADD, FMUL, DADD, DMUL: the contract's rounded operations
	FMA   int // FFMA, DFMA: must not appear on the exact path
	Loads int // LDS, LDG, LD, LDSM
}

// FPFraction is FP/All (0 for no instructions).
func (m Mix) FPFraction() float64 {
	if m.All == 0 {
		return 0
	}
	return float64(m.FP) / float64(m.All)
}

func (m *Mix) add(in Instr) {
	m.All++
	switch in.Base() {
	case "FADD", "FMUL", "DADD", "DMUL":
		m.FP++
	case "FFMA", "DFMA":
		m.FMA++
	case "LDS", "LDG", "LD", "LDSM":
		m.Loads++
	}
}

func (m *Mix) plus(o Mix) {
	m.All += o.All
	m.FP += o.FP
	m.FMA += o.FMA
	m.Loads += o.Loads
}

// Loops finds f's loops: every branch whose target is at or before it
// closes one. A loop is innermost when no other loop's range lies inside
// its own (a loop's body may still call functions or branch forward).
func Loops(f Function) []Loop {
	var ls []Loop
	for _, in := range f.Instrs {
		if in.Target >= 0 && in.Target <= in.Addr {
			ls = append(ls, Loop{Start: in.Target, End: in.Addr})
		}
	}
	for a := range ls {
		ls[a].Innermost = true
		for b := range ls {
			if a != b && ls[b].Start >= ls[a].Start && ls[b].End <= ls[a].End &&
				(ls[b].Start != ls[a].Start || ls[b].End != ls[a].End) {
				ls[a].Innermost = false
				break
			}
		}
		for _, in := range f.Instrs {
			if in.Addr >= ls[a].Start && in.Addr <= ls[a].End {
				ls[a].Mix.add(in)
			}
		}
	}
	return ls
}

// HotLoops returns f's hot loops: the innermost loops that hold FP
// operations. Those are the dot products' loops (unrolled main bodies and
// remainders, one set per template variant of a kernel); no static count
// says how often each runs, so the report weighs them by their size.
func HotLoops(f Function) []Loop {
	var hot []Loop
	for _, l := range Loops(f) {
		if l.Innermost && l.Mix.FP > 0 {
			hot = append(hot, l)
		}
	}
	return hot
}

// HotMix sums the mixes of loops.
func HotMix(ls []Loop) Mix {
	var m Mix
	for _, l := range ls {
		m.plus(l.Mix)
	}
	return m
}

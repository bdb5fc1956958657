package main

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
)

// Resources are what ptxas -v says of one entry function.
type Resources struct {
	Registers   int
	Shared      int // static shared memory, bytes
	Stack       int // stack frame, bytes
	SpillStores int // bytes
	SpillLoads  int // bytes
}

var (
	entryLine = regexp.MustCompile(`Compiling entry function '([^']+)'`)
	propsLine = regexp.MustCompile(`Function properties for (\S+)`)
	spillLine = regexp.MustCompile(`(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads`)
	usedLine  = regexp.MustCompile(`Used (\d+) registers(?:, (\d+) bytes smem)?`)
)

// ParsePtxasInfo reads ptxas -v output and returns the resources of each
// entry function. Spills of the functions an entry calls (not inlined)
// count as the entry's: they run in its threads.
func ParsePtxasInfo(r io.Reader) (map[string]*Resources, []string, error) {
	res := map[string]*Resources{}
	var order []string
	var entry *Resources
	props := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if m := entryLine.FindStringSubmatch(line); m != nil {
			entry = &Resources{}
			res[m[1]] = entry
			order = append(order, m[1])
			continue
		}
		if m := propsLine.FindStringSubmatch(line); m != nil {
			props = m[1]
			continue
		}
		if entry == nil {
			continue
		}
		if m := spillLine.FindStringSubmatch(line); m != nil {
			st, _ := strconv.Atoi(m[1])
			ss, _ := strconv.Atoi(m[2])
			sl, _ := strconv.Atoi(m[3])
			entry.SpillStores += ss
			entry.SpillLoads += sl
			if res[props] == entry {
				entry.Stack = st
			}
			continue
		}
		if m := usedLine.FindStringSubmatch(line); m != nil {
			entry.Registers, _ = strconv.Atoi(m[1])
			if m[2] != "" {
				entry.Shared, _ = strconv.Atoi(m[2])
			}
		}
	}
	return res, order, sc.Err()
}

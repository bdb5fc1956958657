package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Replay measures nothing: it prints the report again from the JSON lines
// that Options.JSONFile recorded, from one or more files (names are trimmed
// of spaces). ratesim's results are paired with the peers' by (N, B, K):
// the ceilings measured in the same run (which set the ceiling unless
// opt.PeakGFLOPS does), one table for one network, one for sweeps, then the
// goals of the CUDA issue (see Goals) and, for CPU results, of the CPU
// issue (see CPUGoals). Lines of a plastic run (Options.Plastic) print its
// table instead. Files without a single ratesim result are an error.
func Replay(files []string, opt TableOptions, out io.Writer) error {
	all := strings.Join(files, ",")
	var ours, peers, ceilings []Result
	for _, name := range files {
		rs, err := readResults(name)
		if err != nil {
			return err
		}
		for _, r := range rs {
			switch {
			case r.Peer == "ratesim":
				ours = append(ours, r)
			case IsCeiling(r):
				ceilings = append(ceilings, r)
			default:
				peers = append(peers, r)
			}
		}
	}
	if len(ours) == 0 {
		return fmt.Errorf("%s: no ratesim results", all)
	}
	// Lines of `bench --plastic`: static and plastic steps in pairs.
	if pairs := PairPlastic(ours); len(pairs) > 0 {
		fmt.Fprintf(out, "ratesim bench --plastic results from %s (%s on %s)\n\n", all, ours[0].Backend, ours[0].Device)
		WritePlasticTable(out, pairs)
		return nil
	}
	split := func(rs []Result) (one, sw []Result) {
		for _, r := range rs {
			if r.Instances() > 1 {
				sw = append(sw, r)
			} else {
				one = append(one, r)
			}
		}
		return
	}
	o1, o2 := split(ours)
	p1, p2 := split(peers)
	devs := map[string]bool{}
	for _, r := range ours {
		devs[r.Backend+" on "+r.Device] = true
	}
	var dl []string
	for d := range devs {
		dl = append(dl, d)
	}
	sort.Strings(dl)
	fmt.Fprintf(out, "ratesim bench results from %s (%s)\n", all, strings.Join(dl, "; "))
	if len(ceilings) > 0 {
		fmt.Fprintf(out, "\nceiling, measured in the same run\n")
		if p := WriteCeilings(out, ceilings); opt.PeakGFLOPS == 0 {
			opt.PeakGFLOPS = p
		}
	}
	if len(o1) > 0 {
		fmt.Fprintf(out, "\none network\n")
		WriteTable(out, o1, p1, opt)
	}
	if len(o2) > 0 {
		fmt.Fprintf(out, "\nsweeps\n")
		WriteTable(out, o2, p2, opt)
	}
	fmt.Fprintf(out, "\ngoals (issue 4)\n")
	Goals(out, ours, peers, opt.PeakGFLOPS)
	if ours[0].Backend == "cpu" {
		fmt.Fprintf(out, "\ngoals (issue 15)\n")
		CPUGoals(out, ours, peers, opt.PeakGFLOPS)
	}
	return nil
}

// readResults reads one file of JSON lines, skipping blank lines; errors
// name the file as given and the line.
func readResults(name string) ([]Result, error) {
	f, err := os.Open(strings.TrimSpace(name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rs []Result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(t), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		rs = append(rs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return rs, nil
}

// Command genargs writes kernels/args.go from the kernels' parameter lists
// in kernels/*.cu (see package kernels/internal/cusig). kernels/gen.sh runs
// it:
//
//	go run ./kernels/internal/genargs -dir kernels -o kernels/args.go
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ratesim/ratesim/kernels/internal/cusig"
)

func main() {
	dir := flag.String("dir", "kernels", "the directory of the .cu files")
	out := flag.String("o", "", "the file to write (default: standard output)")
	flag.Parse()
	src, err := cusig.Generate(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genargs:", err)
		os.Exit(1)
	}
	if *out == "" {
		_, err = os.Stdout.Write(src)
	} else {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genargs:", err)
		os.Exit(1)
	}
}

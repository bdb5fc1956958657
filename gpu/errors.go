//go:build cuda

package gpu

import "fmt"

// oomError says what did not fit and what to do about it.
func oomError(what string, bytes, free, total int64) error {
	return tooLarge{fmt.Errorf("cuda: out of device memory allocating the %s (%.1f MiB; %.1f MiB free of %.1f MiB): run fewer instances or trials per shard, record fewer quantities or with a larger stride, Advance fewer steps per call, or use float32",
		what, mib(bytes), mib(free), mib(total))}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

//go:build !linux && !darwin

package output

import "errors"

var errNoExchange = errors.New("cannot exchange directories on this system")

// exchange is not available here: publishing falls back to renames.
func exchange(a, b string) error { return errNoExchange }

func exchangeUnsupported(err error) bool { return errors.Is(err, errNoExchange) }

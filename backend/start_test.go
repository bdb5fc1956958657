package backend_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
)

// plainBackend hides the optional capabilities of the backend it wraps.
type plainBackend struct{ backend.Backend }

// Start refuses a program with delays on a backend that does not declare
// them, rather than running it as if undelayed; the same program starts on
// one that does.
func TestStartRefusesUndeclaredDelays(t *testing.T) {
	p := selfLoop(2, 1)
	_, err := backend.Start(plainBackend{backend.Reference}, p)
	require.Error(t, err)
	assert.Equal(t, backend.ErrNoDelays("reference").Error(), err.Error())
	run, err := backend.Start(backend.Reference, p)
	require.NoError(t, err)
	run.Close()
	// Without delays the wrapped backend starts it.
	run, err = backend.Start(plainBackend{backend.Reference}, selfLoop(2, -1))
	require.NoError(t, err)
	run.Close()
}

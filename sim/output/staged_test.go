package output

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A circuit run's files are staged and published together; a name no run
// owns is refused, and nothing appears before Publish.
func TestWriteStagedPublish(t *testing.T) {
	out := filepath.Join(t.TempDir(), "l5")
	st, err := Begin(out, Hooks{})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.WriteStaged("selectivity.csv", []byte("a,b\n1,2\n")))
	require.NoError(t, st.WriteStaged("meta.json", []byte("{}\n")))
	assert.ErrorContains(t, st.WriteStaged("notes.txt", nil), "notes.txt is not a file a run writes")
	_, err = os.Stat(filepath.Join(out, "selectivity.csv"))
	assert.True(t, os.IsNotExist(err), "a staged file is visible before Publish")
	require.NoError(t, st.Publish())
	data, err := os.ReadFile(filepath.Join(out, "selectivity.csv"))
	require.NoError(t, err)
	assert.Equal(t, "a,b\n1,2\n", string(data))
	assert.Equal(t, filepath.Join(out, "meta.json"), st.Path("meta.json"))
	assert.Error(t, st.Publish(), "a second Publish")
}

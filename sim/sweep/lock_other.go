//go:build !unix

package sweep

// lockDir cannot lock without flock: runs into one directory are not
// kept apart, and status never reports one running.
func lockDir(dir string) (unlock func(), err error) { return func() {}, nil }

func lockHeld(dir string) (bool, string) { return false, "" }

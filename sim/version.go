package sim

import "runtime/debug"

// Version is ratesim's version; the VCS revision is appended when known.
const Version = "0.1.0"

// FullVersion is Version with the build's VCS revision.
func FullVersion() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}

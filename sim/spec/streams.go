package spec

// Host random streams: every array drawn on the host at build time has its
// own Philox stream of backend.HostUniform/HostNormal, so each array's
// values depend only on the seed and the array, not on the order arrays are
// built in. The numbers are part of the results' contract: changing one
// changes every network built from a seed.
const (
	StreamHiddenWeight = 1 + iota
	StreamInputWeight
	StreamReadoutWeight
	StreamHiddenBias
	StreamInputBias
	StreamReadoutBias
	StreamInputNoise
)

// StreamMasks is the first of connect.NumStreams host streams the
// structure builders draw from; StreamInputPatterns is the stream of
// input.order: random.
const (
	StreamMasks         = 16
	StreamInputPatterns = StreamMasks - 1
)

// StreamConnections is the first host stream of the connection builders:
// the spec's connection number c (0, 1, … in the order the spec lists them)
// draws from connect.HostRandom(seed, StreamConnections +
// c·connect.NumConnStreams), so each connection has streams of its own
// above every other host stream.
const StreamConnections = 32

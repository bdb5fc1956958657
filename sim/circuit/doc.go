// Package circuit is the room for population circuit models (not built yet;
// see ARCHITECTURE.md), such as the V1 layer-5 firing-rate model with its
// CS, CC, PV and SST populations, built from [pre, post] tables into the
// same backend.Program as every other network.
package circuit

package spec

import (
	"encoding/json"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// record.units selects by the areas and E/I populations the structure
// section defines (multi_area_ei: the first exc_pct of each area is E).
func TestRecordUnitsByAreaAndPopulation(t *testing.T) {
	const structure = "dims: [1, 20, 1]\nstructure: {type: multi_area_ei, areas: [10, 10], area_names: [V1, PFC], exc_pct: 0.8}\n"
	for sel, want := range map[string][]int{
		"{area: PFC, population: I}": {18, 19},
		"{area: 0, population: E}":   {0, 1, 2, 3, 4, 5, 6, 7},
		"{population: I}":            {8, 9, 18, 19},
		"{area: V1}":                 {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	} {
		t.Run(sel, func(t *testing.T) {
			s, err := Parse("t.yaml", []byte(structure+"record: {units: "+sel+"}\n"))
			require.NoError(t, err)
			p, err := s.Record.Plan(s)
			require.NoError(t, err)
			assert.Equal(t, want, p.Units)
		})
	}
	_, err := Parse("t.yaml", []byte(structure+"record: {units: {area: MT}}\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "record.units.area")
	assert.Contains(t, err.Error(), "V1, PFC", "the error names the areas")
}

// The record section survives YAML and JSON round trips (meta.json, specs
// written by ratesim import).
func TestRecordRoundTrips(t *testing.T) {
	for _, src := range []string{
		"{states: true, every: 2, window: [10, 90.5], units: [4, 1]}",
		"{steps: [3, 40], units: {area: PFC, population: E}}",
		"{units: {area: 2}}",
		"{units: all}",
	} {
		var a Recording
		if err := yaml.Unmarshal([]byte(src), &a); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		y, err := yaml.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var b Recording
		if err := yaml.Unmarshal(y, &b); err != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: YAML round trip gave %+v (%v) from\n%s", src, b, err, y)
		}
		j, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var c Recording
		if err := json.Unmarshal(j, &c); err != nil || !reflect.DeepEqual(a, c) {
			t.Errorf("%s: JSON round trip gave %+v (%v) from %s", src, c, err, j)
		}
	}
}

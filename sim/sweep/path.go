package sweep

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/sim/spec"
)

// A path step is a mapping key or a list index.
type step struct {
	key   string
	index int // −1 for a key
}

// parsePath splits a.b[0].c into its steps.
func parsePath(path string) ([]step, error) {
	if path == "" {
		return nil, fmt.Errorf("missing: name a spec field (tau, input.amplitude, plasticity.recurrent.rules[0].eta)")
	}
	var steps []step
	for _, part := range strings.Split(path, ".") {
		key, rest, bracket := strings.Cut(part, "[")
		if key == "" {
			return nil, fmt.Errorf("%q: empty key in the path", path)
		}
		if bracket && rest == "" {
			return nil, fmt.Errorf("%q: an index is written [i] with a whole number i ≥ 0", path)
		}
		steps = append(steps, step{key: key, index: -1})
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !ok || err != nil || i < 0 {
				return nil, fmt.Errorf("%q: an index is written [i] with a whole number i ≥ 0", path)
			}
			steps = append(steps, step{index: i})
			if after != "" && !strings.HasPrefix(after, "[") {
				return nil, fmt.Errorf("%q: unexpected %q after an index", path, after)
			}
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps, nil
}

var unmarshaler = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// checkPath refuses a path that cannot name a spec field: a key that no
// field of the spec has where the schema is a fixed mapping. Where a field
// decodes itself (per-unit values, layer settings, unit selections) the
// rest of the path is left to the spec's own validation of each point.
func checkPath(path string) error {
	steps, err := parsePath(path)
	if err != nil {
		return err
	}
	if steps[0].key == "noise_instance" {
		return fmt.Errorf("noise_instance is set by the sweep for each point and cannot be swept")
	}
	t := reflect.TypeOf(spec.Spec{})
	done := ""
	for _, s := range steps {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if reflect.PointerTo(t).Implements(unmarshaler) {
			return nil
		}
		if s.index >= 0 {
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return fmt.Errorf("%q: %s is not a list", path, done)
			}
			t = t.Elem()
			done += fmt.Sprintf("[%d]", s.index)
			continue
		}
		switch t.Kind() {
		case reflect.Struct:
			fields := spec.YAMLFields(t)
			ft, ok := fields[s.key]
			if !ok {
				names := make([]string, 0, len(fields))
				for n := range fields {
					names = append(names, n)
				}
				sort.Strings(names)
				where := "the spec"
				if done != "" {
					where = done
				}
				return fmt.Errorf("%q: %s has no field %s (it has %s)", path, where, s.key, strings.Join(names, ", "))
			}
			t = ft
		case reflect.Map, reflect.Interface:
			return nil
		default:
			return fmt.Errorf("%q: %s is a single value, not a mapping", path, done)
		}
		if done != "" {
			done += "."
		}
		done += s.key
	}
	return nil
}

// set puts value at path in the mapping root, creating missing mappings
// on the way; a list index must exist.
func set(root *yaml.Node, path string, value *yaml.Node) error {
	steps, err := parsePath(path)
	if err != nil {
		return err
	}
	n := root
	for i, s := range steps {
		last := i == len(steps)-1
		if s.index >= 0 {
			if n.Kind != yaml.SequenceNode {
				return fmt.Errorf("the base spec has no list at %s", strings.Join(names(steps[:i]), ""))
			}
			if s.index >= len(n.Content) {
				return fmt.Errorf("index [%d] is past the end of %s's %d elements", s.index, strings.Join(names(steps[:i]), ""), len(n.Content))
			}
			if last {
				n.Content[s.index] = clone(value)
				return nil
			}
			n = n.Content[s.index]
			continue
		}
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is not a mapping in the base spec, so it has no field %s", strings.Join(names(steps[:i]), ""), s.key)
		}
		child, found := lookup(n, s.key)
		if last {
			if found {
				*child = *clone(value)
			} else {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.key}, clone(value))
			}
			return nil
		}
		if !found {
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.key}, child)
		}
		n = child
	}
	return nil
}

func names(steps []step) []string {
	var out []string
	for i, s := range steps {
		switch {
		case s.index >= 0:
			out = append(out, fmt.Sprintf("[%d]", s.index))
		case i > 0:
			out = append(out, "."+s.key)
		default:
			out = append(out, s.key)
		}
	}
	return out
}

// lookup finds key's value in a mapping node.
func lookup(m *yaml.Node, key string) (*yaml.Node, bool) {
	if m.Kind != yaml.MappingNode {
		return nil, false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1], true
		}
	}
	return nil, false
}

// clone copies a node tree deeply (aliases are copied as aliases).
func clone(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = clone(x)
	}
	return &c
}

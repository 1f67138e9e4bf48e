package testenv

// Lookup walks a decoded YAML or JSON value (map[string]any and []any, as
// sigs.k8s.io/yaml and encoding/json produce) along path: map keys, and list
// indexes as decimal strings ("0"). It returns nil where the path leads nowhere.
func Lookup(v any, path ...string) any {
	cur := v
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i := 0
			for _, ch := range p {
				i = i*10 + int(ch-'0')
			}
			if i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// LookupString is Lookup of a string: "" where there is none.
func LookupString(v any, path ...string) string {
	s, _ := Lookup(v, path...).(string)
	return s
}

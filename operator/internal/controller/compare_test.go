package controller

import "testing"

func TestSubset(t *testing.T) {
	tests := []struct {
		name       string
		want, have any
		ok         bool
	}{
		{"equal maps", map[string]any{"a": "x"}, map[string]any{"a": "x"}, true},
		{"server adds fields", map[string]any{"a": "x"}, map[string]any{"a": "x", "b": int64(1)}, true},
		{"changed string", map[string]any{"a": "x"}, map[string]any{"a": "y"}, false},
		{"missing field", map[string]any{"a": "x"}, map[string]any{}, false},
		{"false is the zero value", map[string]any{"a": false}, map[string]any{}, true},
		{"canonical quantity", map[string]any{"memory": "1024Mi"}, map[string]any{"memory": "1Gi"}, true},
		{"different quantity", map[string]any{"memory": "512Mi"}, map[string]any{"memory": "1Gi"}, false},
		{"int and float", map[string]any{"n": float64(3)}, map[string]any{"n": int64(3)}, true},
		{"changed number", map[string]any{"n": int64(3)}, map[string]any{"n": int64(5)}, false},
		{"list element subset", []any{map[string]any{"name": "a"}}, []any{map[string]any{"name": "a", "protocol": "TCP"}}, true},
		{"list length differs", []any{"a"}, []any{"a", "b"}, false},
		{"list order matters", []any{"a", "b"}, []any{"b", "a"}, false},
		{"type differs", map[string]any{"a": "1"}, map[string]any{"a": int64(1)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := subset(tc.want, tc.have); got != tc.ok {
				t.Errorf("subset(%v, %v) = %v, want %v", tc.want, tc.have, got, tc.ok)
			}
		})
	}
}

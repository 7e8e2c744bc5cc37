package lane

import "testing"

func TestValidName(t *testing.T) {
	long := "a1234567890123456789012345678901234567890123456789012345678901bc"
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"gray", true}, {"dev-a", true}, {"v1.2_x", true}, {"A", true}, {long[:63], true},
		{"", false}, {long, false}, {"-a", false}, {".a", false}, {"a b", false}, {"a/b", false}, {"灰度", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidName(tc.name); got != tc.ok {
				t.Errorf("ValidName(%q) = %v", tc.name, got)
			}
		})
	}
}

func TestSet(t *testing.T) {
	s := NewSet("base", []string{"gray", "dev-a"})
	for _, tc := range []struct {
		name string
		id   ID
		ok   bool
	}{{"base", Default, true}, {"gray", 1, true}, {"dev-a", 2, true}, {"GRAY", 0, false}, {"", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := s.Lookup(tc.name)
			if id != tc.id || ok != tc.ok {
				t.Errorf("Lookup = %d %v, want %d %v", id, ok, tc.id, tc.ok)
			}
			if id2, ok2 := s.LookupBytes([]byte(tc.name)); id2 != id || ok2 != ok {
				t.Errorf("LookupBytes differs: %d %v", id2, ok2)
			}
			if ok && s.Name(id) != tc.name {
				t.Errorf("Name(%d) = %q", id, s.Name(id))
			}
		})
	}
	if None.OrDefault() != Default || ID(2).OrDefault() != 2 {
		t.Error("OrDefault")
	}
}

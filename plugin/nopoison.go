//go:build !(wasip1 && lanedye_poison)

package plugin

// poison does nothing outside the poisoning build (poison.go).
func poison() {}

//go:build wasip1 && lanedye_poison

package plugin

// poison overwrites the VM-wide buffers the host calls return into (the
// request headers, shared data, properties) at the end of every callback.
// A string kept past its callback then reads garbage in the poisoning
// build, which make test runs the behaviour suite and the end-to-end
// tests against (build/poison/), instead of reading the next request's
// bytes one day in production.
func poison() {
	for _, b := range [...]*[]byte{&hostBuffers.headers, &hostBuffers.shared, &hostBuffers.property} {
		all := (*b)[:cap(*b)]
		for i := range all {
			all[i] = 0xA5
		}
	}
}

package lane

// Debug holds the debug header value of every lane and source
// ("lane=gray; source=header"), so that debug mode costs no formatting per
// request (docs/contract.md, Debug header).
type Debug struct {
	v [][NumSources]string // [lane][source]
}

// NewDebug precomputes the values for the lanes of s.
func NewDebug(s *Set) *Debug {
	d := &Debug{v: make([][NumSources]string, s.Len())}
	for l := range d.v {
		for src := range d.v[l] {
			d.v[l][src] = "lane=" + s.Name(ID(l)) + "; source=" + Source(src).String()
		}
	}
	return d
}

// Value explains a lane from a source; None explains as the default lane.
func (d *Debug) Value(l ID, src Source) string { return d.v[l.OrDefault()][src] }

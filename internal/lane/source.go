package lane

// Source says where a request's lane came from. The names appear in the
// debug header and in stat names.
type Source uint8

// Sources.
const (
	SourceDefault Source = iota
	SourceHeader
	SourceCookie
	SourceRule
	SourcePropagated
	SourceBaggage
	SourceWorkload // a sidecar's own lane (workload.lane_label)
	NumSources
)

var sourceNames = [NumSources]string{"default", "header", "cookie", "rule", "propagated", "baggage", "workload"}

func (s Source) String() string { return sourceNames[s] }

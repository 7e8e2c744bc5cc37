package gatewayconf

import (
	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/match"
)

// parseTrust compiles the trust section: the blocks that make a
// client-sent lane header trusted.
func (p *parser) parseTrust() error {
	if !p.trust.Exists() {
		return nil
	}
	var blocks match.Blocks
	err := bind.Object(p.trust, "trust",
		bind.Req("match", "the blocks that make a client-sent lane header trusted", p.blocksInto(&blocks, "trust")),
	)
	if err != nil {
		return err
	}
	p.gw.Trust = &blocks
	return nil
}

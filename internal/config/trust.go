package config

import "github.com/lanedye/lanedye/internal/match"

// parseTrust compiles the trust section: the blocks that make a
// client-sent lane header trusted.
func (p *parser) parseTrust() error {
	if !p.trust.Exists() {
		return nil
	}
	var blocks match.Blocks
	err := object(p.trust, "trust",
		req("match", "the blocks that make a client-sent lane header trusted", p.blocksInto(&blocks, "trust")),
	)
	if err != nil {
		return err
	}
	p.gw.Trust = &blocks
	return nil
}

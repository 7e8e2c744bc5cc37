package config

import (
	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/gjson"
	"github.com/lanedye/lanedye/internal/httpsyntax"
)

// baggageMember binds the top-level baggage member name.
func baggageMember(dst *string) bind.Binder {
	return func(v gjson.Result, path string) error {
		if err := bind.Str(dst)(v, path); err != nil {
			return err
		}
		if !httpsyntax.ValidToken(*dst) {
			return bind.Err(path, bind.Q(*dst)+" is not a valid baggage member name")
		}
		return nil
	}
}

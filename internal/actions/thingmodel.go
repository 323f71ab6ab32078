package actions

import (
	"errors"
	"regexp"
	"unicode/utf8"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// modelVersionRE is PublishThingModel's ModelVersion: letters, digits and
// dots, up to 16 characters (docs/fidelity.md, things §5.5).
var modelVersionRE = regexp.MustCompile(`^[A-Za-z0-9.]{1,16}$`)

// updateProduct renames a product and replaces its description when one
// is given.
func updateProduct(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		name := c.Params["ProductName"]
		switch {
		case name == "":
			return nil, ErrNullProductName
		case !iot.ValidProductName(name):
			return nil, ErrInvalidFormattedProdName
		}
		var desc *string
		if d, ok := c.Params["Description"]; ok {
			if utf8.RuneCountInString(d) > iot.MaxProductDescription {
				return nil, ErrLongProductDesc
			}
			desc = &d
		}
		p, e := findProduct(ctx, st, c, c.Params["ProductKey"])
		if e != nil {
			return nil, e
		}
		switch err := st.UpdateProduct(ctx, c.AccessKeyID, p.ProductKey, name, desc); {
		case errors.Is(err, iot.ErrConflict):
			return nil, ErrAlreadyExistedProductName
		case isNotFound(err):
			return nil, ErrNotExistedProduct
		case err != nil:
			return nil, err
		}
		return pop.Object{}, nil
	}
}

// importThingModelTsl replaces a product's draft thing model with a TSL.
func importThingModelTsl(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		tsl := c.Params["TslStr"]
		if tsl == "" {
			return nil, ErrNullParameter.WithMessage("Specify parameter is null: TslStr.")
		}
		p, e := findProduct(ctx, st, c, c.Params["ProductKey"])
		if e != nil {
			return nil, e
		}
		switch err := svc.ImportThingModel(ctx, c.AccessKeyID, p.ProductKey, []byte(tsl)); {
		case errors.Is(err, iot.ErrTSL):
			return nil, ErrInvalidTsl.WithMessage("The TSL format is invalid: %s", err.Error())
		case isNotFound(err):
			return nil, ErrNotExistedProduct
		case err != nil:
			return nil, err
		}
		return pop.Object{}, nil
	}
}

// publishThingModel publishes a product's draft as a new version (a
// version named from the clock when none is given).
func publishThingModel(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		version := c.Params["ModelVersion"]
		if version == "" {
			version = "v" + msString(c.Received.UnixMilli())[3:]
		} else if !modelVersionRE.MatchString(version) {
			return nil, ErrThingModelVersion
		}
		p, e := findProduct(ctx, st, c, c.Params["ProductKey"])
		if e != nil {
			return nil, e
		}
		switch err := svc.PublishThingModel(ctx, c.AccessKeyID, p.ProductKey, version, c.Params["Description"]); {
		case errors.Is(err, iot.ErrConflict):
			return nil, ErrThingModelVersion.WithMessage("The thing model version is not valid: %s is already published.", version)
		case isNotFound(err):
			return nil, ErrInvalidTsl.WithMessage("The TSL format is invalid: the product has no thing model to publish; import one with ImportThingModelTsl.")
		case err != nil:
			return nil, err
		}
		return pop.Object{}, nil
	}
}

// modelOf reads the model version a call asks for: ModelVersion, else the
// draft (published=false) or the newest published version. A product
// without one has the empty model.
func modelOf(c *pop.Call, st *store.Store, p iot.Product, published bool) (iot.ThingModel, string, string, error) {
	ctx := c.Context()
	version := c.Params["ModelVersion"]
	var v store.ThingModelVersion
	var err error
	switch {
	case version != "":
		v, err = st.ThingModel(ctx, p.AccessKeyID, p.ProductKey, version)
		if isNotFound(err) {
			return iot.ThingModel{}, "", "", ErrThingModelVersion
		}
	case published:
		v, err = st.LatestThingModel(ctx, p.AccessKeyID, p.ProductKey)
	default:
		v, err = st.ThingModel(ctx, p.AccessKeyID, p.ProductKey, "")
	}
	if isNotFound(err) {
		return iot.ThingModel{}, "", "", nil
	}
	if err != nil {
		return iot.ThingModel{}, "", "", err
	}
	m, err := iot.ParseThingModel(v.TSL)
	return m, v.Version, v.Description, err
}

// queryThingModel answers a model as ThingModelJson: the draft, a version,
// or (published) the newest published one.
func queryThingModel(st *store.Store, published bool) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		p, e := findProduct(c.Context(), st, c, c.Params["ProductKey"])
		if e != nil {
			return nil, e
		}
		m, version, desc, e := modelOf(c, st, p, published)
		if e != nil {
			return nil, e
		}
		doc := iot.ThingModelJSON(m, p.ProductKey, version, desc)
		if published && version == "" {
			doc = iot.NeverPublishedJSON(p.ProductKey)
		}
		return pop.Object{
			{Name: "ProductKey", Value: p.ProductKey},
			{Name: "Data", Value: pop.Object{{Name: "ThingModelJson", Value: string(doc)}}},
		}, nil
	}
}

// getThingModelTsl answers a model as TSL JSON (Simple: identifiers and
// types only). TslUri stays empty: no OSS here.
func getThingModelTsl(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		p, e := findProduct(c.Context(), st, c, c.Params["ProductKey"])
		if e != nil {
			return nil, e
		}
		simple, ok := optionalBool(c, "Simple", false)
		if !ok {
			return nil, ErrInvalidFormattedParameter
		}
		m, _, _, e := modelOf(c, st, p, false)
		if e != nil {
			return nil, e
		}
		if simple {
			m = m.Simple()
		}
		return pop.Object{{Name: "Data", Value: pop.Object{{Name: "TslStr", Value: string(m.JSON(p.ProductKey))}, {Name: "TslUri", Value: ""}}}}, nil
	}
}

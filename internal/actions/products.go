package actions

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// maxProductPageSize is QueryProductList's largest PageSize
// (docs/fidelity.md, apis §2.3).
const maxProductPageSize = 200

// findProductOf resolves a ProductKey like findProduct, except that a key owned
// by another account answers with foreign instead of NotExistedProduct, for
// the APIs whose documented errors tell the two apart.
func findProductOf(ctx context.Context, st *store.Store, c *pop.Call, pk string, foreign error) (iot.Product, error) {
	p, e := findProduct(ctx, st, c, pk)
	if !errors.Is(e, ErrNotExistedProduct) {
		return p, e
	}
	elsewhere, err := st.ProductElsewhere(ctx, c.AccessKeyID, pk)
	if err != nil {
		return p, err
	}
	if elsewhere {
		return p, foreign
	}
	return p, e
}

// optionalInt reads an optional integer parameter; ok is false when it is
// present but not a decimal integer.
func optionalInt(c *pop.Call, name string, def int) (v int, ok bool) {
	raw, present := c.Params[name]
	if !present || raw == "" {
		return def, true
	}
	n, err := pop.ParseInt(raw)
	return n, err == nil
}

// optionalBool reads an optional boolean parameter ("true"/"false").
func optionalBool(c *pop.Call, name string, def bool) (v, ok bool) {
	switch c.Params[name] {
	case "":
		return def, true
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// createProduct creates a product in the caller's account and instance.
// Validation follows the documented parameter rules; a parameter outside
// its documented values without an error code of its own is
// iot.check.InvalidFormattedParameter naming the parameter [INFERRED].
func createProduct(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		if !account(c).HasInstance(c.InstanceID) {
			return nil, ErrInstanceNotFound
		}
		name := c.Params["ProductName"]
		switch {
		case name == "":
			return nil, ErrNullProductName
		case !iot.ValidProductName(name):
			return nil, ErrInvalidFormattedProdName
		}
		nodeType, ok := optionalInt(c, "NodeType", -1)
		if !ok || (nodeType != 0 && nodeType != 1) {
			return nil, ErrInvalidNodeType
		}
		desc := c.Params["Description"]
		if utf8.RuneCountInString(desc) > iot.MaxProductDescription {
			return nil, ErrLongProductDesc
		}
		code := c.Params["AliyunCommodityCode"]
		if code != "" && !iot.ValidCommodityCode(code) {
			return nil, ErrInvalidCommodityCode
		}
		badParam := func(name string) error {
			return ErrInvalidFormattedParameter.WithMessage("The parameter format is invalid: %s.", name)
		}
		dataFormat, ok := optionalInt(c, "DataFormat", 1)
		if !ok || (dataFormat != 0 && dataFormat != 1) {
			return nil, badParam("DataFormat")
		}
		validate, ok := optionalInt(c, "ValidateType", 1)
		if !ok || (validate != 1 && validate != 2) {
			return nil, badParam("ValidateType")
		}
		auth := c.Params["AuthType"]
		if auth != "" && !iot.ValidAuthType(auth) {
			return nil, badParam("AuthType")
		}
		netType := c.Params["NetType"]
		if netType != "" && !iot.ValidNetType(netType) {
			return nil, badParam("NetType")
		}
		protocol := c.Params["ProtocolType"]
		if protocol != "" && !iot.ValidProtocolType(protocol) {
			return nil, badParam("ProtocolType")
		}
		id2, ok := optionalBool(c, "Id2", false)
		if !ok {
			return nil, badParam("Id2")
		}
		if _, ok := optionalBool(c, "PublishAuto", true); !ok {
			return nil, badParam("PublishAuto")
		}
		// Documented: when Id2 and AuthType disagree, AuthType wins; Id2=true
		// alone asks for ID² authentication [INFERRED].
		switch {
		case auth != "":
			id2 = auth == "id2"
		case id2:
			auth = "id2"
		}
		p, err := st.CreateProduct(ctx, iot.Product{
			AccessKeyID: c.AccessKeyID, InstanceID: c.InstanceID, ProductName: name, NodeType: nodeType, DataFormat: dataFormat,
			Description: desc, AuthType: auth, Id2: id2, ProtocolType: protocol, NetType: netType, AliyunCommodityCode: code,
			CategoryKey: c.Params["CategoryKey"], ValidateType: validate,
		}, iot.ProductsPerInstance)
		switch {
		case errors.Is(err, iot.ErrConflict):
			return nil, ErrAlreadyExistedProductName
		case errors.Is(err, iot.ErrLimit):
			return nil, ErrProductCountExceedMax
		case err != nil:
			return nil, err
		}
		return pop.Object{
			{Name: "ProductKey", Value: p.ProductKey},
			{Name: "Data", Value: pop.Object{
				{Name: "ProductKey", Value: p.ProductKey},
				{Name: "ProductName", Value: p.ProductName},
				{Name: "ProductSecret", Value: p.ProductSecret},
				{Name: "NodeType", Value: p.NodeType},
				{Name: "DataFormat", Value: p.DataFormat},
				{Name: "Description", Value: p.Description},
				{Name: "AuthType", Value: p.AuthType},
				{Name: "Id2", Value: p.Id2},
				{Name: "ProtocolType", Value: p.ProtocolType},
				{Name: "AliyunCommodityCode", Value: p.AliyunCommodityCode},
			}},
		}, nil
	}
}

// queryProduct reports one product. Another account's key is
// iot.common.InvalidTenant (docs/fidelity.md, errors §3).
func queryProduct(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		p, e := findProductOf(ctx, st, c, c.Params["ProductKey"], ErrInvalidTenant)
		if e != nil {
			return nil, e
		}
		return pop.Object{{Name: "Data", Value: pop.Object{
			{Name: "ProductKey", Value: p.ProductKey},
			{Name: "ProductName", Value: p.ProductName},
			{Name: "ProductSecret", Value: p.ProductSecret},
			{Name: "Description", Value: p.Description},
			{Name: "NodeType", Value: p.NodeType},
			{Name: "DataFormat", Value: p.DataFormat},
			{Name: "DeviceCount", Value: p.DeviceCount},
			{Name: "GmtCreate", Value: p.Created.UnixMilli()},
			{Name: "AuthType", Value: p.AuthType},
			{Name: "Id2", Value: p.Id2},
			{Name: "Owner", Value: true},
			// Products are never published in the emulator (no thing model).
			{Name: "ProductStatus", Value: "DEVELOPMENT_STATUS"},
			{Name: "AliyunCommodityCode", Value: p.AliyunCommodityCode},
			{Name: "NetType", Value: iot.NetTypeCode(p.NetType)},
			{Name: "ValidateType", Value: p.ValidateType},
			{Name: "ProtocolType", Value: p.ProtocolType},
			{Name: "CategoryKey", Value: p.CategoryKey},
			// The emulator has no category catalogue to name a key from.
			{Name: "CategoryName", Value: ""},
		}}}, nil
	}
}

// queryProductList pages through the caller's products in the instance,
// newest first, with the paging fields under Data (docs/fidelity.md, apis §2.3).
func queryProductList(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		if !account(c).HasInstance(c.InstanceID) {
			return nil, ErrInstanceNotFound
		}
		page, size, e := paging(c, "CurrentPage", 10, maxProductPageSize)
		if e != nil {
			return nil, e
		}
		code := c.Params["AliyunCommodityCode"]
		if code != "" && !iot.ValidCommodityCode(code) {
			return nil, ErrInvalidCommodityCode
		}
		products, total, err := st.ProductPage(ctx, c.AccessKeyID, c.InstanceID, code, pageOffset(page, size), size)
		if err != nil {
			return nil, err
		}
		list := make(pop.List, len(products))
		for i, p := range products {
			list[i] = pop.Object{
				{Name: "ProductKey", Value: p.ProductKey},
				{Name: "ProductName", Value: p.ProductName},
				{Name: "Description", Value: p.Description},
				{Name: "NodeType", Value: p.NodeType},
				{Name: "DataFormat", Value: p.DataFormat},
				{Name: "DeviceCount", Value: p.DeviceCount},
				{Name: "GmtCreate", Value: p.Created.UnixMilli()},
				{Name: "AuthType", Value: p.AuthType},
			}
		}
		return pop.Object{{Name: "Data", Value: pop.Object{
			{Name: "CurrentPage", Value: page},
			{Name: "PageSize", Value: size},
			{Name: "PageCount", Value: pageCount(total, size)},
			{Name: "Total", Value: total},
			{Name: "List", Value: pop.Object{{Name: "ProductInfo", Value: list}}},
		}}}, nil
	}
}

// deleteProduct deletes an empty product. A product that still has
// devices is refused, as the console does; the documentation names no code
// for that (see ErrProductHasDevices). Another account's key is
// iot.common.InvalidTenant (docs/fidelity.md, errors §3).
func deleteProduct(st *store.Store, cascade bool) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		p, e := findProductOf(ctx, st, c, c.Params["ProductKey"], ErrInvalidTenant)
		if e != nil {
			return nil, e
		}
		err := st.DeleteProduct(ctx, c.AccessKeyID, p.ProductKey, cascade)
		switch {
		case errors.Is(err, iot.ErrHasDevices):
			return nil, ErrProductHasDevices
		case errors.Is(err, iot.ErrNotFound):
			// Deleted by a concurrent call between lookup and delete.
			return nil, ErrNotExistedProduct
		case err != nil:
			return nil, err
		}
		return pop.Object{}, nil
	}
}

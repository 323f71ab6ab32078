package emulator

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/iot-emulator/iot-emulator/store"
)

// Documented limits of the product APIs (apis.md §2.1–§2.3; quotas from the
// IoT Platform "Limits" page, doc 30527).
const (
	maxProductPageSize  = 200
	productsPerInstance = 1000
)

// netTypeCodes is how QueryProduct reports the network type CreateProduct
// took as a string: 3, 6, 7 and 8 are documented; LoRaWAN's number is not
// [INFERRED 4].
var netTypeCodes = map[string]int{"WIFI": 3, "LORA": 4, "CELLULAR": 6, "ETHERNET": 7, "OTHER": 8}

// productOf resolves a ProductKey like s.product, except that a key owned
// by another account answers with foreign instead of NotExistedProduct, for
// the APIs whose documented errors tell the two apart.
func (s *Server) productOf(ctx context.Context, c *Call, pk string, foreign *Error) (store.Product, *Error) {
	p, e := s.product(ctx, c, pk)
	if e != ErrNotExistedProduct {
		return p, e
	}
	elsewhere, err := s.st.ProductElsewhere(ctx, c.AccessKeyID, pk)
	if err != nil {
		return p, ErrSystem
	}
	if elsewhere {
		return p, foreign
	}
	return p, e
}

// optionalInt reads an optional integer parameter; ok is false when it is
// present but not a decimal integer.
func optionalInt(c *Call, name string, def int) (v int, ok bool) {
	raw, present := c.Params[name]
	if !present || raw == "" {
		return def, true
	}
	n, err := atoiStrict(raw)
	return n, err == nil
}

// optionalBool reads an optional boolean parameter ("true"/"false").
func optionalBool(c *Call, name string, def bool) (v, ok bool) {
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
func (s *Server) createProduct(c *Call) (Object, *Error) {
	ctx := c.ctx
	if !c.Account.HasInstance(c.InstanceID) {
		return nil, ErrInstanceNotFound
	}
	name := c.Params["ProductName"]
	switch {
	case name == "":
		return nil, ErrNullProductName
	case !store.ValidProductName(name):
		return nil, ErrInvalidFormattedProdName
	}
	nodeType, ok := optionalInt(c, "NodeType", -1)
	if !ok || (nodeType != 0 && nodeType != 1) {
		return nil, ErrInvalidNodeType
	}
	desc := c.Params["Description"]
	if utf8.RuneCountInString(desc) > store.MaxProductDescription {
		return nil, ErrLongProductDesc
	}
	code := c.Params["AliyunCommodityCode"]
	if code != "" && !store.ValidCommodityCode(code) {
		return nil, ErrInvalidCommodityCode
	}
	badParam := func(name string) *Error {
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
	if auth != "" && !store.ValidAuthType(auth) {
		return nil, badParam("AuthType")
	}
	netType := c.Params["NetType"]
	if netType != "" && !store.ValidNetType(netType) {
		return nil, badParam("NetType")
	}
	protocol := c.Params["ProtocolType"]
	if protocol != "" && !store.ValidProtocolType(protocol) {
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
	p, err := s.st.CreateProductLimited(ctx, store.Product{
		AccessKeyID: c.AccessKeyID, InstanceID: c.InstanceID, ProductName: name, NodeType: nodeType, DataFormat: dataFormat,
		Description: desc, AuthType: auth, Id2: id2, ProtocolType: protocol, NetType: netType, AliyunCommodityCode: code,
		CategoryKey: c.Params["CategoryKey"], ValidateType: validate,
	}, productsPerInstance)
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, ErrAlreadyExistedProductName
	case errors.Is(err, store.ErrLimit):
		return nil, ErrProductCountExceedMax
	case err != nil:
		return nil, ErrCreateProductFailed
	}
	return Object{
		{"ProductKey", p.ProductKey},
		{"Data", Object{
			{"ProductKey", p.ProductKey},
			{"ProductName", p.ProductName},
			{"ProductSecret", p.ProductSecret},
			{"NodeType", p.NodeType},
			{"DataFormat", p.DataFormat},
			{"Description", p.Description},
			{"AuthType", p.AuthType},
			{"Id2", p.Id2},
			{"ProtocolType", p.ProtocolType},
			{"AliyunCommodityCode", p.AliyunCommodityCode},
		}},
	}, nil
}

// queryProduct reports one product. Another account's key is
// iot.common.InvalidTenant (errors.md §3).
func (s *Server) queryProduct(c *Call) (Object, *Error) {
	ctx := c.ctx
	p, e := s.productOf(ctx, c, c.Params["ProductKey"], ErrInvalidTenant)
	if e == ErrSystem {
		return nil, ErrQueryProductAction
	}
	if e != nil {
		return nil, e
	}
	return Object{{"Data", Object{
		{"ProductKey", p.ProductKey},
		{"ProductName", p.ProductName},
		{"ProductSecret", p.ProductSecret},
		{"Description", p.Description},
		{"NodeType", p.NodeType},
		{"DataFormat", p.DataFormat},
		{"DeviceCount", p.DeviceCount},
		{"GmtCreate", p.Created.UnixMilli()},
		{"AuthType", p.AuthType},
		{"Id2", p.Id2},
		{"Owner", true},
		// Products are never published in the emulator (no thing model).
		{"ProductStatus", "DEVELOPMENT_STATUS"},
		{"AliyunCommodityCode", p.AliyunCommodityCode},
		{"NetType", netTypeCodes[p.NetType]},
		{"ValidateType", p.ValidateType},
		{"ProtocolType", p.ProtocolType},
		{"CategoryKey", p.CategoryKey},
		// The emulator has no category catalogue to name a key from.
		{"CategoryName", ""},
	}}}, nil
}

// queryProductList pages through the caller's products in the instance,
// newest first, with the paging fields under Data (apis.md §2.3).
func (s *Server) queryProductList(c *Call) (Object, *Error) {
	ctx := c.ctx
	if !c.Account.HasInstance(c.InstanceID) {
		return nil, ErrInstanceNotFound
	}
	page, size, e := paging(c, "CurrentPage", 10, maxProductPageSize)
	if e != nil {
		return nil, e
	}
	code := c.Params["AliyunCommodityCode"]
	if code != "" && !store.ValidCommodityCode(code) {
		return nil, ErrInvalidCommodityCode
	}
	products, total, err := s.st.ProductPage(ctx, c.AccessKeyID, c.InstanceID, code, pageOffset(page, size), size)
	if err != nil {
		return nil, ErrQueryProductListAction
	}
	list := make(List, len(products))
	for i, p := range products {
		list[i] = Object{
			{"ProductKey", p.ProductKey},
			{"ProductName", p.ProductName},
			{"Description", p.Description},
			{"NodeType", p.NodeType},
			{"DataFormat", p.DataFormat},
			{"DeviceCount", p.DeviceCount},
			{"GmtCreate", p.Created.UnixMilli()},
			{"AuthType", p.AuthType},
		}
	}
	return Object{{"Data", Object{
		{"CurrentPage", page},
		{"PageSize", size},
		{"PageCount", pageCount(total, size)},
		{"Total", total},
		{"List", Object{{"ProductInfo", list}}},
	}}}, nil
}

// deleteProduct deletes an empty product. A product that still has
// devices is refused, as the console does; the documentation names no code
// for that (see ErrProductHasDevices). Another account's key is
// iot.common.InvalidTenant (errors.md §3).
func (s *Server) deleteProduct(c *Call) (Object, *Error) {
	ctx := c.ctx
	p, e := s.productOf(ctx, c, c.Params["ProductKey"], ErrInvalidTenant)
	if e != nil {
		return nil, e
	}
	del := s.st.DeleteEmptyProduct
	if s.cfg.DeleteProductCascade {
		del = s.st.DeleteProduct
	}
	err := del(ctx, c.AccessKeyID, p.ProductKey)
	switch {
	case errors.Is(err, store.ErrHasDevices):
		return nil, ErrProductHasDevices
	case errors.Is(err, store.ErrNotFound):
		// Deleted by a concurrent call between lookup and delete.
		return nil, ErrNotExistedProduct
	case err != nil:
		return nil, ErrSystem
	}
	return Object{}, nil
}

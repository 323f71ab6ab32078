package iot

import "time"

// Product is an IoT product owned by one account in one instance.
type Product struct {
	AccessKeyID         string
	InstanceID          string
	ProductKey          string
	ProductName         string
	ProductSecret       string
	NodeType            int
	DataFormat          int
	Description         string
	AuthType            string
	Id2                 bool
	ProtocolType        string
	NetType             string
	AliyunCommodityCode string
	CategoryKey         string
	ValidateType        int
	// DynamicRegister lets the product's devices fetch their DeviceSecret
	// with the ProductSecret (dynamic registration).
	DynamicRegister bool
	Created         time.Time
	// ThingModel is the TSL JSON a seed (a fixture) gives the product; it
	// is not read back with the product.
	ThingModel []byte
	// DeviceCount is filled on reads.
	DeviceCount int
}

// ProductsPerInstance is the documented product quota of one account in
// one instance (IoT Platform "Limits" page, doc 30527).
const ProductsPerInstance = 1000

// MaxProductDescription is the documented length limit of a product's
// Description, in characters.
const MaxProductDescription = 100

// The values of the enumerated product attributes (docs/fidelity.md, apis §2.1).
var (
	authTypes      = map[string]bool{"secret": true, "id2": true, "x509": true, "one-party": true}
	netTypes       = map[string]bool{"WIFI": true, "CELLULAR": true, "ETHERNET": true, "LORA": true, "OTHER": true}
	protocolTypes  = map[string]bool{"modbus": true, "opc-ua": true, "customize": true, "ble": true, "zigbee": true}
	commodityCodes = map[string]bool{"iothub": true, "iothub_senior": true}
)

// ValidAuthType reports whether s is a documented AuthType.
func ValidAuthType(s string) bool { return authTypes[s] }

// ValidNetType reports whether s is a documented NetType.
func ValidNetType(s string) bool { return netTypes[s] }

// ValidProtocolType reports whether s is a documented sub-device ProtocolType.
func ValidProtocolType(s string) bool { return protocolTypes[s] }

// ValidCommodityCode reports whether s is a documented AliyunCommodityCode.
func ValidCommodityCode(s string) bool { return commodityCodes[s] }

// netTypeCodes is how QueryProduct reports the network type CreateProduct
// took as a string: 3, 6, 7 and 8 are documented; LoRaWAN's number is not
// [INFERRED 4].
var netTypeCodes = map[string]int{"WIFI": 3, "LORA": 4, "CELLULAR": 6, "ETHERNET": 7, "OTHER": 8}

// NetTypeCode is the number QueryProduct reports for a NetType.
func NetTypeCode(netType string) int { return netTypeCodes[netType] }

// FillProduct applies the documented defaults to what was left empty and
// stamps Created (to the millisecond the store keeps). The key is left to
// the caller, who may need to draw it again.
func FillProduct(p *Product, now time.Time) {
	if p.ProductSecret == "" {
		p.ProductSecret = NewProductSecret()
	}
	if p.AuthType == "" {
		p.AuthType = "secret"
	}
	if p.AliyunCommodityCode == "" {
		p.AliyunCommodityCode = "iothub"
	}
	if p.NetType == "" {
		p.NetType = "WIFI"
	}
	if p.Created.IsZero() {
		p.Created = now
	}
	p.Created = time.UnixMilli(p.Created.UnixMilli()).UTC()
}

package signature

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"time"
)

// SignV1 is the client side of V1: it completes an RPC call's parameters
// with the common ones a caller left out (AccessKeyId, SignatureMethod
// HMAC-SHA1, SignatureVersion 1.0, a random SignatureNonce and Timestamp
// now, in UTC) and adds the Signature for the HTTP method. The caller
// supplies Action, Version, Format and the action's own parameters.
// Send the result as the query (GET) or as a form body (POST):
//
//	q := signature.SignV1("GET", "testAccessKeyId", "testAccessKeySecret", map[string]string{
//		"Action": "QueryProduct", "Version": "2018-01-20", "Format": "JSON", "ProductKey": "a1TestProd1"})
//	http.Get("http://127.0.0.1:8080/?" + q.Encode())
func SignV1(method, accessKeyID, secret string, params map[string]string) url.Values {
	all := make(url.Values, len(params)+6)
	for k, v := range params {
		all.Set(k, v)
	}
	defaults := map[string]string{
		"AccessKeyId":      accessKeyID,
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureVersion": "1.0",
		"Timestamp":        time.Now().UTC().Format("2006-01-02T15:04:05Z"),
	}
	for k, v := range defaults {
		if _, ok := all[k]; !ok {
			all.Set(k, v)
		}
	}
	if _, ok := all["SignatureNonce"]; !ok {
		b := make([]byte, 16)
		rand.Read(b)
		all.Set("SignatureNonce", hex.EncodeToString(b))
	}
	all.Del("Signature")
	all.Set("Signature", V1Sign(secret, V1StringToSign(method, all)))
	return all
}

// Package tlsca gives the emulator its TLS material: a local CA made once
// and kept in a directory (so it can be trusted once and survives
// restarts), a server certificate it signs at every start for the names
// clients use, or a certificate the user supplies; and Sniff, which serves
// TLS and plain HTTP on one port.
package tlsca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// DefaultHosts are the names the generated server certificate carries
// besides localhost and the loopback addresses, so a client whose DNS or
// /etc/hosts points the real endpoints at the emulator verifies the chain.
// A wildcard covers one label only, hence the explicit regional names.
var DefaultHosts = []string{"*.aliyuncs.com", "iot.cn-shanghai.aliyuncs.com", "*.iot-as-mqtt.cn-shanghai.aliyuncs.com"}

// CA file names in the TLS directory.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
)

// Material is what the TLS listeners serve.
type Material struct {
	// Config serves the server certificate (TLS 1.2 and later).
	Config *tls.Config
	// CAPEM is the CA certificate clients must trust, and CAPath where it
	// is kept; both empty for a user-supplied certificate.
	CAPEM  []byte
	CAPath string
}

// FromFiles loads a user-supplied certificate and key.
func FromFiles(certFile, keyFile string) (Material, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return Material{}, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", certFile, keyFile, err)
	}
	return Material{Config: serverConfig(cert)}, nil
}

// Generate loads the CA kept in dir, creating it on first use, and signs a
// server certificate for localhost, 127.0.0.1, ::1, DefaultHosts and hosts.
func Generate(dir string, hosts []string, now time.Time) (Material, error) {
	ca, caKey, caPEM, err := loadOrCreateCA(dir, now)
	if err != nil {
		return Material{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Material{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "iot-emulator", Organization: []string{"iot-emulator"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(397 * 24 * time.Hour), // within what browsers and Apple clients accept
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range append(append([]string{}, DefaultHosts...), hosts...) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return Material{}, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}
	return Material{Config: serverConfig(cert), CAPEM: caPEM, CAPath: filepath.Join(dir, CAFile)}, nil
}

func serverConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// loadOrCreateCA reads ca.pem and ca-key.pem from dir, or makes them.
func loadOrCreateCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	if cerr == nil && kerr == nil {
		ca, key, err := parseCA(certPEM, keyPEM)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--tls-dir %s: %w (delete both files to make a new CA)", dir, err)
		}
		return ca, key, certPEM, nil
	}
	// Only a directory holding neither file gets a new CA: one the user
	// trusted must never be replaced because its key went missing.
	if !errors.Is(cerr, os.ErrNotExist) || !errors.Is(kerr, os.ErrNotExist) {
		return nil, nil, nil, fmt.Errorf("--tls-dir %s: the CA needs both %s and %s (delete both to make a new CA): %w", dir, CAFile, CAKeyFile, errors.Join(cerr, kerr))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("--tls-dir %s: %w", dir, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "iot-emulator local CA", Organization: []string{"iot-emulator"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	// The key first, so a crash between the two never leaves a CA whose
	// key is missing; both written whole through a rename.
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, nil, nil, err
	}
	if err := writeFile(certPath, certPEM, 0o644); err != nil {
		return nil, nil, nil, err
	}
	return ca, key, certPEM, nil
}

func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("ca.pem or ca-key.pem is not PEM")
	}
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	if !ca.IsCA {
		return nil, nil, errors.New("ca.pem is not a CA certificate")
	}
	if pub, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, errors.New("ca-key.pem is not the key of ca.pem")
	}
	if time.Now().After(ca.NotAfter) {
		return nil, nil, fmt.Errorf("the CA expired on %s", ca.NotAfter.Format(time.DateOnly))
	}
	return ca, key, nil
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Chmod(mode), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

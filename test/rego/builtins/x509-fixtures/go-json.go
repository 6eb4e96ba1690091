package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
)

type extendedCert struct {
	x509.Certificate
	URIStrings []string
}

func certs(path string) []extendedCert {
	b, _ := os.ReadFile(path)
	var der []byte
	for {
		p, r := pem.Decode(b)
		if p == nil {
			break
		}
		der = append(der, p.Bytes...)
		b = r
	}
	cs, err := x509.ParseCertificates(der)
	if err != nil {
		panic(err)
	}
	out := make([]extendedCert, len(cs))
	for i, c := range cs {
		out[i].Certificate = *c
		if c.URIs != nil {
			for _, u := range c.URIs {
				out[i].URIStrings = append(out[i].URIStrings, u.String())
			}
		}
	}
	return out
}

func main() {
	res := map[string]any{}
	res["leaf"] = certs("leaf.pem")
	res["int"] = certs("int.pem")
	res["root"] = certs("root.pem")
	b, _ := os.ReadFile("leaf.csr")
	p, _ := pem.Decode(b)
	csr, err := x509.ParseCertificateRequest(p.Bytes)
	if err != nil {
		panic(err)
	}
	res["csr"] = csr
	cb, _ := os.ReadFile("leaf.pem")
	kb, _ := os.ReadFile("leaf.key")
	kp, err := tls.X509KeyPair(cb, kb)
	if err != nil {
		panic(err)
	}
	res["keypair"] = kp
	var keys []any
	for _, f := range []string{"ec.key", "ed.key", "rsa1.key"} {
		b, _ := os.ReadFile(f)
		p, _ := pem.Decode(b)
		var k any
		switch p.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(p.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(p.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(p.Bytes)
		}
		if err != nil {
			panic(err)
		}
		keys = append(keys, k)
	}
	res["keys"] = keys
	j, err := json.Marshal(res)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(j))
}

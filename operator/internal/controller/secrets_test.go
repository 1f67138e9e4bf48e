package controller

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

func TestGeneratedSecrets(t *testing.T) {
	a, err := genCredentials()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := genCredentials()
	for _, k := range render.CredentialKeys() {
		if len(a[k]) != 32 || string(a[k]) == string(b[k]) {
			t.Errorf("credential %s: %d characters, same in two generations: %v", k, len(a[k]), string(a[k]) == string(b[k]))
		}
	}
	if len(a) != len(render.CredentialKeys()) {
		t.Errorf("%d credentials, want %d", len(a), len(render.CredentialKeys()))
	}

	keys, err := genJWT()
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := pem.Decode(keys["private.pem"])
	pub, _ := pem.Decode(keys["public.pem"])
	if priv == nil || pub == nil {
		t.Fatal("JWT keys are not PEM")
	}
	pk, err := x509.ParsePKCS8PrivateKey(priv.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pubk, err := x509.ParsePKIXPublicKey(pub.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	edPriv, ok1 := pk.(ed25519.PrivateKey)
	edPub, ok2 := pubk.(ed25519.PublicKey)
	if !ok1 || !ok2 || !edPub.Equal(edPriv.Public()) {
		t.Error("the JWT Secret's keys are not one Ed25519 pair")
	}

	admin, err := genAdmin()
	if err != nil {
		t.Fatal(err)
	}
	if string(admin["email"]) != "admin@bookstore.local" || len(admin["password"]) < 16 {
		t.Errorf("admin %q with a %d-character password", admin["email"], len(admin["password"]))
	}
}

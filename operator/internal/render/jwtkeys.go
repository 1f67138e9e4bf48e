package render

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
)

// Keys of the JWT Secret (<name>-jwt, or the user's spec.auth.jwtSecretName).
const (
	// JWTPrivateKey is the signing key, the only private key a pod mounts (the user service's).
	JWTPrivateKey = "private.pem"
	// JWTPublicKeys is the verification set: one PKIX PEM block per key.
	JWTPublicKeys = "public.pem"
	// JWTNextKey holds the next signing key during the first phase of a
	// rotation only; no pod mounts it (the chart's volume lists its items).
	JWTNextKey = "next-private.pem"
)

// SigningService is the service that signs tokens (jwt.signing in its chart).
const SigningService = "user"

// JWTKeysAnnotation on a service's pod template names the keys its pods
// load (kids, never key material): a new key set rolls the Deployment.
const JWTKeysAnnotation = "bookstore.dev/jwt-keys"

// JWTKeys is the content of the operator's JWT Secret.
type JWTKeys struct {
	Signing ed25519.PrivateKey
	Verify  []ed25519.PublicKey
	Next    ed25519.PrivateKey // nil but during the first phase of a rotation
}

// KeyID is the kid of a public key: the auth package's, so the operator and
// every service derive the same one.
func KeyID(pub ed25519.PublicKey) string { return auth.KeyID(pub) }

// SigningKID is the kid of the signing key.
func (k JWTKeys) SigningKID() string { return KeyID(k.Signing.Public().(ed25519.PublicKey)) }

// VerifyKIDs are the kids of the verification set, in order.
func (k JWTKeys) VerifyKIDs() []string {
	ids := make([]string, 0, len(k.Verify))
	for _, p := range k.Verify {
		ids = append(ids, KeyID(p))
	}
	return ids
}

// PodAnnotation is the JWTKeysAnnotation value of svc's pods: the
// verification set, and for the signing service the signing key.
func (k JWTKeys) PodAnnotation(svc string) string {
	v := "verify=" + strings.Join(k.VerifyKIDs(), ",")
	if svc == SigningService {
		v = "sign=" + k.SigningKID() + " " + v
	}
	return v
}

// AddNext is the first phase of a rotation: next joins the verification
// set (after the current keys) while the current key still signs.
func (k JWTKeys) AddNext(next ed25519.PrivateKey) JWTKeys {
	verify := append(append([]ed25519.PublicKey(nil), k.Verify...), next.Public().(ed25519.PublicKey))
	return JWTKeys{Signing: k.Signing, Verify: verify, Next: next}
}

// SwitchSigner is the second phase: the next key signs; the previous private
// key is dropped, its public key still verifies.
func (k JWTKeys) SwitchSigner() JWTKeys {
	return JWTKeys{Signing: k.Next, Verify: k.Verify}
}

// RetireOld is the third phase: only the signing key verifies.
func (k JWTKeys) RetireOld() JWTKeys {
	return JWTKeys{Signing: k.Signing, Verify: []ed25519.PublicKey{k.Signing.Public().(ed25519.PublicKey)}}
}

// ParseJWTKeys reads the JWT Secret's data.
func ParseJWTKeys(data map[string][]byte) (JWTKeys, error) {
	var k JWTKeys
	var err error
	if k.Signing, err = auth.ParsePrivateKeyPEM(data[JWTPrivateKey]); err != nil {
		return JWTKeys{}, fmt.Errorf("%s: %w", JWTPrivateKey, err)
	}
	if k.Verify, err = auth.ParsePublicKeysPEM(data[JWTPublicKeys]); err != nil {
		return JWTKeys{}, fmt.Errorf("%s: %w", JWTPublicKeys, err)
	}
	if next, ok := data[JWTNextKey]; ok {
		if k.Next, err = auth.ParsePrivateKeyPEM(next); err != nil {
			return JWTKeys{}, fmt.Errorf("%s: %w", JWTNextKey, err)
		}
	}
	return k, nil
}

// Data is the JWT Secret's data for k.
func (k JWTKeys) Data() (map[string][]byte, error) {
	priv, err := marshalPrivate(k.Signing)
	if err != nil {
		return nil, err
	}
	var pub bytes.Buffer
	for _, p := range k.Verify {
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return nil, fmt.Errorf("marshal public key: %w", err)
		}
		pub.Write(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	data := map[string][]byte{JWTPrivateKey: priv, JWTPublicKeys: pub.Bytes()}
	if k.Next != nil {
		if data[JWTNextKey], err = marshalPrivate(k.Next); err != nil {
			return nil, err
		}
	}
	return data, nil
}

func marshalPrivate(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// AnnotatePods adds svc's JWTKeysAnnotation to the pod annotations of its
// chart values (ServiceValues).
func (k JWTKeys) AnnotatePods(values map[string]any, svc string) {
	ann, _ := values["podAnnotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
	}
	ann[JWTKeysAnnotation] = k.PodAnnotation(svc)
	values["podAnnotations"] = ann
}

package auth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
)

// KeyID is the kid of an Ed25519 public key: the first 16 bytes of the
// SHA-256 of the raw key, base64url. It is derived, never configured, so the
// signer and every verifier agree on it without coordination.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// ParsePublicKeysPEM parses one or more PKIX "PUBLIC KEY" PEM blocks holding
// Ed25519 keys: the key set a verifier accepts. Rotation puts the new key and
// the old ones in one bundle (see docs/security.md).
func ParsePublicKeysPEM(b []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for n := 1; ; n++ {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		k, err := ParsePublicKeyPEM(pem.EncodeToMemory(block))
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", n, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM block found")
	}
	return keys, nil
}

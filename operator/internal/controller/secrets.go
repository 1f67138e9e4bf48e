package controller

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// GeneratedLabel marks the Secrets the operator generated once; they are never
// pruned by it and their values never change (a key a newer operator needs,
// like the Kafka users' passwords, is added), but for the JWT keys, rotated
// on request (jwtrotation.go).
const GeneratedLabel = "bookstore.dev/generated"

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// ensureSecrets creates the generated Secrets that do not exist yet and
// returns the infrastructure credentials (nil when nothing is managed).
func (r *BookstoreReconciler) ensureSecrets(ctx context.Context, b *v1alpha1.Bookstore) (*corev1.Secret, error) {
	type generated struct {
		name, what string
		owned      bool
		gen        func() (map[string][]byte, error)
		ann        map[string]string
	}
	var want []generated
	if b.ManagesInfrastructure() {
		want = append(want, generated{b.GeneratedCredentialsSecretName(), "the infrastructure passwords", b.CredentialsOwned(), genCredentials, nil})
	}
	if b.GeneratesJWTSecret() {
		// fresh keys: a rotation already requested is done
		ann := map[string]string{}
		render.JWTRotation{Handled: b.Annotations[render.RotateJWTKeyAnnotation]}.SetAnnotations(ann)
		want = append(want, generated{b.GeneratedJWTSecretName(), "an Ed25519 key pair", true, genJWT, ann})
	}
	if b.GeneratesAdminSecret() {
		want = append(want, generated{b.GeneratedAdminSecretName(), "the admin account", true, genAdmin, nil})
	}
	var creds *corev1.Secret
	for _, g := range want {
		s, created, err := r.ensureGenerated(ctx, b, g.name, g.owned, g.gen, g.ann)
		if err != nil {
			return nil, err
		}
		if created {
			r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "SecretGenerated", "Generate", "generated Secret %s with %s", g.name, g.what)
		}
		if g.name == b.GeneratedCredentialsSecretName() {
			if s, err = r.completeCredentials(ctx, b, s); err != nil {
				return nil, err
			}
			creds = s
		}
	}
	return creds, nil
}

// ensureGenerated creates the Secret name with data from gen when it does not
// exist; an existing Secret is returned untouched (never overwritten or
// rotated here). owned says whether the Bookstore owns it (deleted with it);
// ann are the new Secret's annotations.
func (r *BookstoreReconciler) ensureGenerated(ctx context.Context, b *v1alpha1.Bookstore, name string, owned bool, gen func() (map[string][]byte, error), ann map[string]string) (*corev1.Secret, bool, error) {
	s := &corev1.Secret{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: name}, s)
	if apierrors.IsNotFound(err) { // not in the cache: perhaps made by hand, without the label
		err = r.secrets().Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: name}, s)
	}
	if err == nil {
		return s, false, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, false, fmt.Errorf("get secret %s: %w", name, err)
	}
	data, err := gen()
	if err != nil {
		return nil, false, fmt.Errorf("generate secret %s: %w", name, err)
	}
	s = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: b.Namespace,
			Labels: map[string]string{
				render.InstanceLabel:           b.Name,
				GeneratedLabel:                 "true",
				"app.kubernetes.io/managed-by": render.ManagedBy,
				"app.kubernetes.io/part-of":    "bookstore",
			},
			Annotations: ann,
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
	if owned {
		s.OwnerReferences = []metav1.OwnerReference{ownerRef(b)}
	}
	if err := r.Client.Create(ctx, s, client.FieldOwner(FieldOwner)); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// created meanwhile (stale cache): keep what exists, read it next time
			return nil, false, retryError{reason: "Secret " + name + " created meanwhile"}
		}
		return nil, false, fmt.Errorf("create secret %s: %w", name, err)
	}
	return s, true, nil
}

func genCredentials() (map[string][]byte, error) {
	data := map[string][]byte{}
	for _, k := range render.CredentialKeys() {
		p, err := randomHex(16)
		if err != nil {
			return nil, err
		}
		data[k] = []byte(p)
	}
	return data, nil
}

func genJWT() (map[string][]byte, error) {
	key, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	return render.JWTKeys{Signing: key, Verify: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}}.Data()
}

func newSigningKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ed25519 key: %w", err)
	}
	return priv, nil
}

func genAdmin() (map[string][]byte, error) {
	p, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"email": []byte("admin@bookstore.local"), "password": []byte(p)}, nil
}

// checkSecret reports "" when Secret name exists with every key, else what is missing.
func (r *BookstoreReconciler) checkSecret(ctx context.Context, namespace, name string, keys ...string) (string, error) {
	s := &corev1.Secret{}
	if err := r.secrets().Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Sprintf("Secret %s not found", name), nil
		}
		return "", fmt.Errorf("get secret %s: %w", name, err)
	}
	for _, k := range keys {
		if len(s.Data[k]) == 0 {
			return fmt.Sprintf("Secret %s has no key %q", name, k), nil
		}
	}
	return "", nil
}

// completeCredentials adds to an existing credentials Secret the keys of
// render.CredentialKeys it lacks (a Bookstore created before its operator
// knew them, e.g. the Kafka users); existing values stay as they are.
func (r *BookstoreReconciler) completeCredentials(ctx context.Context, b *v1alpha1.Bookstore, s *corev1.Secret) (*corev1.Secret, error) {
	fresh, err := genCredentials()
	if err != nil {
		return nil, err
	}
	orig := s.DeepCopy()
	var added []string
	for _, k := range render.CredentialKeys() {
		if _, ok := s.Data[k]; !ok {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			s.Data[k] = fresh[k]
			added = append(added, k)
		}
	}
	if len(added) == 0 {
		return s, nil
	}
	// a patch (the operator's RBAC has no update), refused if the Secret changed meanwhile
	patch := client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})
	if err := r.Client.Patch(ctx, s, patch, client.FieldOwner(FieldOwner)); err != nil {
		if apierrors.IsConflict(err) {
			return nil, retryError{reason: "Secret " + s.Name + " changed meanwhile"}
		}
		return nil, fmt.Errorf("add %v to secret %s: %w", added, s.Name, err)
	}
	r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "SecretCompleted", "Generate", "added %d new keys to Secret %s", len(added), s.Name)
	return s, nil
}

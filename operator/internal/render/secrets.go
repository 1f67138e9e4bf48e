package render

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// Keys of the generated credentials Secret (<name>-credentials).
const (
	PostgresPasswordKey = "postgres-password"
	RedisPasswordKey    = "redis-password"
)

// ServicePasswordKey is the key of a service's PostgreSQL password in the credentials Secret.
func ServicePasswordKey(svc string) string { return "postgres-" + svc + "-password" }

// CredentialKeys are the keys of the generated credentials Secret.
func CredentialKeys() []string {
	keys := []string{PostgresPasswordKey, RedisPasswordKey, KafkaAdminPasswordKey, KafkaControllerPasswordKey}
	for _, svc := range Services() {
		keys = append(keys, ServicePasswordKey(svc), KafkaPasswordKey(svc))
	}
	return keys
}

// PostgresDatabase is the database and role of a service in the managed PostgreSQL.
func PostgresDatabase(svc string) string { return "bookstore_" + svc }

// derivedSecret is a Secret the operator computes from others (a DSN with its
// password); unlike the generated ones it is kept in sync by apply.
func derivedSecret(b *v1alpha1.Bookstore, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.Namespace, Labels: InfraLabels(b, "config")},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// DerivedSecrets are the per-service DSN Secrets, the Redis URL Secret and
// the per-service Kafka user Secrets (keys username and password) derived
// from the generated credentials (for what is managed).
func DerivedSecrets(b *v1alpha1.Bookstore, creds *corev1.Secret) []client.Object {
	n := Names{Bookstore: b.Name}
	var out []client.Object
	if b.Spec.Postgres.External == nil {
		for _, svc := range Services() {
			db := PostgresDatabase(svc)
			url := fmt.Sprintf("postgres://%s:%s@%s.%s.svc:5432/%s?sslmode=disable&pool_max_conns=%d",
				db, creds.Data[ServicePasswordKey(svc)], n.PostgresRW(), b.Namespace, db, PoolSizePerPod)
			out = append(out, derivedSecret(b, n.DatabaseSecret(svc), map[string]string{"url": url}))
		}
	}
	if b.Spec.Redis.External == nil {
		url := fmt.Sprintf("redis://:%s@%s.%s.svc:6379/0", creds.Data[RedisPasswordKey], n.Redis(), b.Namespace)
		out = append(out, derivedSecret(b, n.RedisURLSecret(), map[string]string{"url": url}))
	}
	if b.Spec.Kafka.External == nil {
		for _, svc := range Services() {
			out = append(out, derivedSecret(b, n.KafkaUserSecret(svc), map[string]string{
				"username": svc, "password": string(creds.Data[KafkaPasswordKey(svc)]),
			}))
		}
	}
	return out
}

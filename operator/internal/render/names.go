package render

import (
	"fmt"
	"strings"

	"github.com/bookstore-platform/bookstore/charts"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// Labels and values the operator puts on everything it renders or builds.
const (
	// InstanceLabel names the Bookstore an object belongs to.
	InstanceLabel = "bookstore.dev/instance"
	// ManagedBy is the app.kubernetes.io/managed-by value of the operator's objects.
	ManagedBy = "bookstore-operator"
)

// Services returns the four service names in a fixed order.
func Services() []string { return charts.Services() }

// Names derives every object name of a Bookstore from its name.
type Names struct{ Bookstore string }

func (n Names) bookstore() *v1alpha1.Bookstore {
	b := &v1alpha1.Bookstore{}
	b.Name = n.Bookstore
	return b
}

// Service is the name of a service's Deployment, Service, HPA and PDB.
func (n Names) Service(svc string) string { return n.Bookstore + "-" + svc }

// DatabaseSecret is the Secret the operator derives with a managed service database's DSN (key "url").
func (n Names) DatabaseSecret(svc string) string { return n.Bookstore + "-" + svc + "-database" }

// KafkaUserSecret holds a service's managed Kafka user (keys username, password).
func (n Names) KafkaUserSecret(svc string) string { return n.Bookstore + "-" + svc + "-kafka" }

// RedisURLSecret is the Secret the operator derives with the managed Redis URL (key "url").
func (n Names) RedisURLSecret() string { return n.Bookstore + "-redis-url" }

// Credentials is the generated Secret with the managed PostgreSQL and Redis passwords.
func (n Names) Credentials() string { return n.bookstore().GeneratedCredentialsSecretName() }

// JWT is the generated Secret with the Ed25519 key pair.
func (n Names) JWT() string { return n.bookstore().GeneratedJWTSecretName() }

// Admin is the generated Secret with the admin account.
func (n Names) Admin() string { return n.bookstore().GeneratedAdminSecretName() }

// Postgres is the managed PostgreSQL StatefulSet and its headless Service.
func (n Names) Postgres() string { return n.Bookstore + "-postgres" }

// PostgresRW is the managed PostgreSQL's ClusterIP Service, the address in
// the services' DSNs: its virtual IP stays when the pod is replaced, while
// the headless Service's DNS record names the old pod's IP for up to its TTL.
func (n Names) PostgresRW() string { return n.Bookstore + "-postgres-rw" }

// PostgresConfig is the ConfigMap with the managed PostgreSQL's configuration and start scripts.
func (n Names) PostgresConfig() string { return n.Bookstore + "-postgres-init" }

// Redis is the managed Redis Deployment and Service.
func (n Names) Redis() string { return n.Bookstore + "-redis" }

// RedisConfig is the ConfigMap with the managed Redis's configuration and start script.
func (n Names) RedisConfig() string { return n.Bookstore + "-redis-config" }

// Kafka is the managed Kafka StatefulSet.
func (n Names) Kafka() string { return n.Bookstore + "-kafka" }

// KafkaConfig is the ConfigMap with the managed Kafka's server.properties and start script.
func (n Names) KafkaConfig() string { return n.Bookstore + "-kafka-config" }

// KafkaHeadless is the headless Service giving the Kafka pods stable names.
func (n Names) KafkaHeadless() string { return n.Bookstore + "-kafka-headless" }

// MigrationSuffix is the suffix of the migration Job names for a spec: one Job
// per service per image (version, tag or digest) and database. Pointing the
// services at another database (managed to external, another Secret) runs the
// migrations there too.
func MigrationSuffix(spec *v1alpha1.BookstoreSpec) string {
	db := "managed"
	if ext := spec.Postgres.External; ext != nil {
		db = "external:" + ext.SecretName
	}
	return "migrate-" + Hash(spec.ServiceImage()+"|"+db)
}

// MigrationJob is the name of a service's migration Job for a spec.
func (n Names) MigrationJob(svc string, spec *v1alpha1.BookstoreSpec) string {
	name := n.Service(svc) + "-" + MigrationSuffix(spec)
	if len(name) > 63 {
		name = name[:63]
	}
	return name
}

// KafkaBrokers is the bootstrap list of the managed Kafka.
func (n Names) KafkaBrokers(namespace string, replicas int32) string {
	brokers := make([]string, 0, replicas)
	for i := range replicas {
		brokers = append(brokers, fmt.Sprintf("%s-%d.%s.%s.svc:9092", n.Kafka(), i, n.KafkaHeadless(), namespace))
	}
	return strings.Join(brokers, ",")
}

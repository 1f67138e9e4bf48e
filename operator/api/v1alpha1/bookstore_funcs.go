package v1alpha1

import (
	"cmp"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Accessors that resolve a Bookstore's optional fields to what the operator
// uses: the user's value or the default (bookstore_defaults.go). Every
// decision "user-provided or generated" lives here, once.

// MaxNameLength is the longest Bookstore name the API server accepts (the CEL
// rule on Bookstore): <name>-inventory-migrate-<10-char hash> is 63, the
// longest derived name, and <name>-postgres-<revision hash> stays a label value.
const MaxNameLength = 34

// GeneratedCredentialsSecretName is the Secret the operator generates with the
// passwords of the managed PostgreSQL and Redis.
func (b *Bookstore) GeneratedCredentialsSecretName() string { return b.Name + "-credentials" }

// GeneratedJWTSecretName is the Secret the operator generates with an Ed25519
// key pair when spec.auth.jwtSecretName is empty.
func (b *Bookstore) GeneratedJWTSecretName() string { return b.Name + "-jwt" }

// GeneratedAdminSecretName is the Secret the operator generates with the admin
// account when spec.auth.adminSecretName is empty.
func (b *Bookstore) GeneratedAdminSecretName() string { return b.Name + "-admin" }

// JWTSecretName is the Secret with the JWT key pair the services use.
func (b *Bookstore) JWTSecretName() string {
	return cmp.Or(b.Spec.Auth.JWTSecretName, b.GeneratedJWTSecretName())
}

// AdminSecretName is the Secret with the admin account the user service uses.
func (b *Bookstore) AdminSecretName() string {
	return cmp.Or(b.Spec.Auth.AdminSecretName, b.GeneratedAdminSecretName())
}

// GeneratesJWTSecret reports whether the operator generates the JWT key pair.
func (b *Bookstore) GeneratesJWTSecret() bool { return b.Spec.Auth.JWTSecretName == "" }

// GeneratesAdminSecret reports whether the operator generates the admin account.
func (b *Bookstore) GeneratesAdminSecret() bool { return b.Spec.Auth.AdminSecretName == "" }

// ManagesInfrastructure reports whether the operator runs PostgreSQL or Redis
// and so generates their passwords.
func (b *Bookstore) ManagesInfrastructure() bool {
	return b.Spec.Postgres.External == nil || b.Spec.Redis.External == nil
}

// CredentialsOwned says whether the generated credentials are deleted with the
// Bookstore: the passwords follow the PostgreSQL data, kept with retained volumes.
func (b *Bookstore) CredentialsOwned() bool {
	return b.Spec.Postgres.External != nil || b.Spec.Postgres.ManagedSpec().Storage.Reclaim() == ReclaimDelete
}

// ServiceImage is the service image reference: repository@digest, else repository:tag.
func (s *BookstoreSpec) ServiceImage() string {
	if s.Image.Digest != "" {
		return s.ImageRepository() + "@" + s.Image.Digest
	}
	return s.ImageRepository() + ":" + s.ImageTag()
}

// ImageRepository is spec.image.repository or the default.
func (s *BookstoreSpec) ImageRepository() string {
	return cmp.Or(s.Image.Repository, DefaultImageRepository)
}

// ImageTag is spec.image.tag, else spec.version.
func (s *BookstoreSpec) ImageTag() string { return cmp.Or(s.Image.Tag, s.Version) }

// PullPolicy is spec.imagePullPolicy or the default.
func (s *BookstoreSpec) PullPolicy() corev1.PullPolicy {
	return cmp.Or(s.ImagePullPolicy, DefaultImagePullPolicy)
}

// Logging is spec.logLevel or the default.
func (s *BookstoreSpec) Logging() string { return cmp.Or(s.LogLevel, DefaultLogLevel) }

// For returns the spec of one service (user, token, inventory, order); the
// zero spec for an unknown name.
func (s ServicesSpec) For(service string) ServiceSpec {
	switch service {
	case "user":
		return s.User
	case "token":
		return s.Token
	case "inventory":
		return s.Inventory
	case "order":
		return s.Order
	}
	return ServiceSpec{}
}

// ReplicaCount is the fixed replica count of a service without autoscaling.
func (s ServiceSpec) ReplicaCount() int32 {
	if s.Replicas != nil {
		return *s.Replicas
	}
	return DefaultReplicas
}

// Min is minReplicas or the default.
func (a *AutoscalingSpec) Min() int32 { return cmp.Or(a.MinReplicas, DefaultMinReplicas) }

// TargetCPU is targetCPUUtilizationPercentage or the default.
func (a *AutoscalingSpec) TargetCPU() int32 {
	return cmp.Or(a.TargetCPUUtilizationPercentage, DefaultTargetCPUUtilizationPercentage)
}

// ManagedSpec is spec.postgres.managed or its zero value (the defaults).
func (p PostgresSpec) ManagedSpec() ManagedPostgres {
	if p.Managed != nil {
		return *p.Managed
	}
	return ManagedPostgres{}
}

// ImageOrDefault is the managed PostgreSQL image.
func (m ManagedPostgres) ImageOrDefault() string { return cmp.Or(m.Image, DefaultPostgresImage) }

// ManagedSpec is spec.redis.managed or its zero value (the defaults).
func (r RedisSpec) ManagedSpec() ManagedRedis {
	if r.Managed != nil {
		return *r.Managed
	}
	return ManagedRedis{}
}

// ImageOrDefault is the managed Redis image.
func (m ManagedRedis) ImageOrDefault() string { return cmp.Or(m.Image, DefaultRedisImage) }

// ManagedSpec is spec.kafka.managed or its zero value (the defaults).
func (k KafkaSpec) ManagedSpec() ManagedKafka {
	if k.Managed != nil {
		return *k.Managed
	}
	return ManagedKafka{}
}

// ImageOrDefault is the managed Kafka image.
func (m ManagedKafka) ImageOrDefault() string { return cmp.Or(m.Image, DefaultKafkaImage) }

// Nodes is the number of managed Kafka nodes (1 or 3).
func (m ManagedKafka) Nodes() int32 {
	if m.Replicas == 3 {
		return 3
	}
	return DefaultKafkaReplicas
}

// SizeOrDefault is the volume size.
func (s StorageSpec) SizeOrDefault() resource.Quantity {
	if s.Size != nil {
		return *s.Size
	}
	return resource.MustParse(DefaultStorageSize)
}

// Reclaim is the reclaim policy or the default.
func (s StorageSpec) Reclaim() ReclaimPolicy { return cmp.Or(s.ReclaimPolicy, DefaultReclaimPolicy) }

// MaxPods is the most pods of a service the spec allows at once outside a
// rollout: maxReplicas with autoscaling, else the replica count.
func (s ServiceSpec) MaxPods() int32 {
	if s.Autoscaling != nil {
		return s.Autoscaling.MaxReplicas
	}
	return s.ReplicaCount()
}

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
)

// The defaults of a Bookstore, in Go. The CRD carries the same values as
// +kubebuilder:default markers (so `kubectl get -o yaml` shows them);
// TestCRDDefaultsMatchGo checks that both agree, and the infrastructure image
// references are checked against hack/versions.env.
const (
	// DefaultImageRepository is the service image when spec.image.repository is empty.
	DefaultImageRepository = "bookstore"
	// DefaultImagePullPolicy of the service containers.
	DefaultImagePullPolicy = corev1.PullIfNotPresent
	// DefaultLogLevel of the services.
	DefaultLogLevel = "info"

	// DefaultPostgresImage runs the managed PostgreSQL (POSTGRES_IMAGE in hack/versions.env).
	DefaultPostgresImage = "postgres:15-bookworm"
	// DefaultRedisImage runs the managed Redis (REDIS_IMAGE in hack/versions.env).
	DefaultRedisImage = "redis:7.4-bookworm"
	// DefaultKafkaImage runs the managed Kafka (KAFKA_IMAGE in hack/versions.env).
	DefaultKafkaImage = "apache/kafka:4.4.0"

	// DefaultKafkaReplicas is the number of managed Kafka nodes.
	DefaultKafkaReplicas int32 = 1
	// DefaultStorageSize of a managed data volume.
	DefaultStorageSize = "1Gi"
	// DefaultReclaimPolicy of the managed data volumes.
	DefaultReclaimPolicy = ReclaimRetain

	// DefaultReplicas of a service without replicas or autoscaling.
	DefaultReplicas int32 = 1
	// DefaultMinReplicas of an autoscaled service.
	DefaultMinReplicas int32 = 1
	// DefaultTargetCPUUtilizationPercentage of an autoscaled service.
	DefaultTargetCPUUtilizationPercentage int32 = 80
)

// DefaultGatewayPort of the HTTP listener of a created Gateway.
const DefaultGatewayPort int32 = 80

// DocsOn reports whether the docs routes are on (the default).
func (d DocsSpec) DocsOn() bool { return d.Enabled == nil || *d.Enabled }

// ListenerPort of the created Gateway, DefaultGatewayPort when unset.
func (g GatewayAPISpec) ListenerPort() int32 {
	if g.Port == 0 {
		return DefaultGatewayPort
	}
	return g.Port
}

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types of a Bookstore.
const (
	// ConditionReady is True when infrastructure, migrations and services are all ready at spec.version.
	ConditionReady = "Ready"
	// ConditionInfrastructureReady is True when PostgreSQL, Redis and Kafka (managed or external) are usable.
	ConditionInfrastructureReady = "InfrastructureReady"
	// ConditionMigrationsSucceeded is True when every service's migration Job for spec.version succeeded.
	ConditionMigrationsSucceeded = "MigrationsSucceeded"
	// ConditionServicesAvailable is True when every service's Deployment runs spec.version and is available.
	ConditionServicesAvailable = "ServicesAvailable"
	// ConditionDegraded is True when something that should work does not (a failed migration, a stuck rollout).
	ConditionDegraded = "Degraded"
	// ConditionRoutesAccepted reports the Gateway API HTTPRoutes (spec.gatewayAPI): True when
	// every parent Gateway accepted them with resolved references, False when one refused
	// them or the Gateway API CRDs are missing, Unknown while the Gateway's controller reports
	// no route status (some, like haproxy-ingress v0.16.1, never do). Ready does not wait on it.
	ConditionRoutesAccepted = "RoutesAccepted"
	// ConditionJWTKeyRotated reports a JWT key rotation requested with the
	// bookstore.dev/rotate-jwt-key annotation: False with the phase as reason
	// while it runs, True once done; absent until one is requested. Ready does
	// not wait on it.
	ConditionJWTKeyRotated = "JWTKeyRotated"
)

// Phase summarizes where a Bookstore is: Pending while a Secret named in the
// spec is missing or incomplete, Provisioning until the infrastructure is
// ready, Migrating, Deploying, Ready, or Failed after a failed migration.
// +kubebuilder:validation:Enum=Pending;Provisioning;Migrating;Deploying;Ready;Failed
type Phase string

// Phases of a Bookstore.
const (
	PhasePending      Phase = "Pending"
	PhaseProvisioning Phase = "Provisioning"
	PhaseMigrating    Phase = "Migrating"
	PhaseDeploying    Phase = "Deploying"
	PhaseReady        Phase = "Ready"
	PhaseFailed       Phase = "Failed"
)

// BookstoreSpec is the desired state of a Bookstore installation.
type BookstoreSpec struct {
	// Version of Bookstore to run. It is the image tag unless image.tag is set,
	// and it names the migration Jobs: changing it runs the migrations first and
	// rolls the services only after they succeeded.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`
	Version string `json:"version"`

	// Image of the services (one image holding the user, token, inventory and order binaries).
	// +optional
	Image ImageSpec `json:"image,omitempty"`

	// ImagePullPolicy of the service containers.
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +kubebuilder:default=IfNotPresent
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// ImagePullSecrets for the service image.
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// LogLevel of the services.
	// +kubebuilder:validation:Enum=debug;info;warn;error
	// +kubebuilder:default=info
	// +optional
	LogLevel string `json:"logLevel,omitempty"`

	// Services configures the four services.
	// +optional
	Services ServicesSpec `json:"services,omitempty"`

	// Postgres is the PostgreSQL holding one database per service; managed when external is not set.
	// +optional
	Postgres PostgresSpec `json:"postgres,omitempty"`

	// Redis holds the revoked token ids; managed when external is not set.
	// +optional
	Redis RedisSpec `json:"redis,omitempty"`

	// Kafka carries the events between services; managed (KRaft) when external is not set.
	// +optional
	Kafka KafkaSpec `json:"kafka,omitempty"`

	// GatewayAPI attaches Gateway API (gateway.networking.k8s.io/v1) HTTPRoutes of the
	// public paths (charts/bookstore/routes.yaml) to existing Gateways or to a Gateway
	// created for gatewayClassName.
	// +optional
	GatewayAPI GatewayAPISpec `json:"gatewayAPI,omitempty"`

	// Ingress routes the public paths (/api/users, /api/tokens, /api/books, /api/orders
	// and the docs) to the services; a portable Ingress (pathType Prefix/Exact only).
	// +optional
	Ingress IngressSpec `json:"ingress,omitempty"`

	// Docs routes each service's Swagger UI and OpenAPI document (/docs/<service>/swagger/,
	// /docs/<service>/openapi.json) through the Ingress and the HTTPRoutes.
	// +optional
	Docs DocsSpec `json:"docs,omitempty"`

	// Auth holds the JWT signing key and the admin account; generated when absent.
	// +optional
	Auth AuthSpec `json:"auth,omitempty"`
}

// ImageSpec is the service image.
type ImageSpec struct {
	// Repository of the image.
	// +kubebuilder:default=bookstore
	// +kubebuilder:validation:MinLength=1
	// +optional
	Repository string `json:"repository,omitempty"`
	// Tag of the image; spec.version when empty.
	// +optional
	Tag string `json:"tag,omitempty"`
	// Digest pins the image (repository@digest) when set.
	// +kubebuilder:validation:Pattern=`^sha256:[a-f0-9]{64}$`
	// +optional
	Digest string `json:"digest,omitempty"`
}

// ServicesSpec configures each service.
type ServicesSpec struct {
	// +optional
	User ServiceSpec `json:"user,omitempty"`
	// +optional
	Token ServiceSpec `json:"token,omitempty"`
	// +optional
	Inventory ServiceSpec `json:"inventory,omitempty"`
	// +optional
	Order ServiceSpec `json:"order,omitempty"`
}

// ServiceSpec configures one service: a fixed replica count or autoscaling.
// +kubebuilder:validation:XValidation:rule="!(has(self.replicas) && has(self.autoscaling))",message="set either replicas or autoscaling, not both"
type ServiceSpec struct {
	// Replicas of the Deployment (1 when neither replicas nor autoscaling is set).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Autoscaling gives the replica count to a HorizontalPodAutoscaler.
	// +optional
	Autoscaling *AutoscalingSpec `json:"autoscaling,omitempty"`

	// Resources of the service container (the chart's defaults when empty).
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// Env is extra environment for the service container; a variable the
	// charts set (BOOKSTORE_LOG_LEVEL, ...) is replaced by the one named here.
	// +listType=map
	// +listMapKey=name
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
}

// AutoscalingSpec configures a HorizontalPodAutoscaler (autoscaling/v2) on CPU.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="minReplicas must not exceed maxReplicas"
type AutoscalingSpec struct {
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=1
	// +optional
	MinReplicas int32 `json:"minReplicas,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxReplicas int32 `json:"maxReplicas"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=80
	// +optional
	TargetCPUUtilizationPercentage int32 `json:"targetCPUUtilizationPercentage,omitempty"`
}

// ReclaimPolicy says what happens to data volumes when the Bookstore is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type ReclaimPolicy string

// Reclaim policies.
const (
	ReclaimRetain ReclaimPolicy = "Retain"
	ReclaimDelete ReclaimPolicy = "Delete"
)

// StorageSpec is the persistent volume of a managed StatefulSet.
type StorageSpec struct {
	// Size of the volume.
	// +kubebuilder:default="1Gi"
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`
	// StorageClassName of the volume claim; the cluster default when empty.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
	// ReclaimPolicy: Retain (default) keeps the PersistentVolumeClaims (and, for
	// PostgreSQL, the Secret with the generated passwords that match the data)
	// when the Bookstore is deleted; Delete removes them with it.
	// +kubebuilder:default=Retain
	// +optional
	ReclaimPolicy ReclaimPolicy `json:"reclaimPolicy,omitempty"`
}

// PostgresSpec selects a managed or an external PostgreSQL.
// +kubebuilder:validation:XValidation:rule="!(has(self.managed) && has(self.external))",message="postgres: managed and external are mutually exclusive"
type PostgresSpec struct {
	// +optional
	Managed *ManagedPostgres `json:"managed,omitempty"`
	// +optional
	External *ExternalPostgres `json:"external,omitempty"`
}

// ManagedPostgres is a single-instance PostgreSQL StatefulSet run by the operator,
// with a database and a user per service.
type ManagedPostgres struct {
	// +kubebuilder:default="postgres:15-bookworm"
	// +optional
	Image string `json:"image,omitempty"`
	// +optional
	Storage StorageSpec `json:"storage,omitempty"`
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// ExternalPostgres points at databases the operator does not run.
type ExternalPostgres struct {
	// SecretName of a Secret in the Bookstore's namespace holding one DSN per
	// service under the keys user, token, inventory and order
	// (postgres://user:password@host:5432/db?sslmode=require).
	// +kubebuilder:validation:MinLength=1
	SecretName string `json:"secretName"`
}

// RedisSpec selects a managed or an external Redis.
// +kubebuilder:validation:XValidation:rule="!(has(self.managed) && has(self.external))",message="redis: managed and external are mutually exclusive"
type RedisSpec struct {
	// +optional
	Managed *ManagedRedis `json:"managed,omitempty"`
	// +optional
	External *ExternalRedis `json:"external,omitempty"`
}

// ManagedRedis is a single Redis without persistence (revocations live as long as the tokens).
type ManagedRedis struct {
	// +kubebuilder:default="redis:7.4-bookworm"
	// +optional
	Image string `json:"image,omitempty"`
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// ExternalRedis points at a Redis the operator does not run.
type ExternalRedis struct {
	// SecretName of a Secret whose key "url" is redis://[:password@]host:port/db.
	// +kubebuilder:validation:MinLength=1
	SecretName string `json:"secretName"`
}

// KafkaSpec selects a managed or an external Kafka.
// +kubebuilder:validation:XValidation:rule="!(has(self.managed) && has(self.external))",message="kafka: managed and external are mutually exclusive"
type KafkaSpec struct {
	// +optional
	Managed *ManagedKafka `json:"managed,omitempty"`
	// +optional
	External *ExternalKafka `json:"external,omitempty"`
}

// ManagedKafka is a Kafka cluster in KRaft mode (combined broker+controller nodes).
type ManagedKafka struct {
	// +kubebuilder:default="apache/kafka:4.4.0"
	// +optional
	Image string `json:"image,omitempty"`
	// Replicas: 1 or 3 nodes, fixed at creation: the topics keep the replication
	// factor and the KRaft voters of the first start, so a change would break the
	// producers (min.insync.replicas). To resize, create a new Bookstore.
	// +kubebuilder:validation:Enum=1;3
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="kafka.managed.replicas is immutable (topics keep their replication factor and the KRaft voters their set): create a new Bookstore to resize"
	// +kubebuilder:default=1
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// +optional
	Storage StorageSpec `json:"storage,omitempty"`
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// ExternalKafka points at a Kafka the operator does not run.
type ExternalKafka struct {
	// SecretName of a Secret whose key "brokers" holds the comma-separated
	// bootstrap servers and, for SASL, the keys "username" and "password".
	// +kubebuilder:validation:MinLength=1
	SecretName string `json:"secretName"`
	// +kubebuilder:validation:Enum=PLAINTEXT;SSL;SASL_PLAINTEXT;SASL_SSL
	// +optional
	SecurityProtocol string `json:"securityProtocol,omitempty"`
	// +kubebuilder:validation:Enum=PLAIN;SCRAM-SHA-256;SCRAM-SHA-512
	// +optional
	SASLMechanism string `json:"saslMechanism,omitempty"`
	// TopicReplication of the topics the services create (1 when empty).
	// +kubebuilder:validation:Minimum=1
	// +optional
	TopicReplication *int32 `json:"topicReplication,omitempty"`
}

// IngressSpec configures the Ingress in front of the services.
// +kubebuilder:validation:XValidation:rule="!has(self.tlsSecretName) || size(self.tlsSecretName) == 0 || (has(self.host) && size(self.host) > 0)",message="ingress: tlsSecretName needs a host"
type IngressSpec struct {
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// +optional
	ClassName *string `json:"className,omitempty"`
	// Host of the rules; every host when empty.
	// +kubebuilder:validation:Pattern=`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Host string `json:"host,omitempty"`
	// TLSSecretName of a kubernetes.io/tls Secret terminating TLS for host.
	// +optional
	TLSSecretName string `json:"tlsSecretName,omitempty"`
}

// DocsSpec is the switch of the documentation routes.
type DocsSpec struct {
	// Enabled: on by default (development); turn off in production unless the API
	// documentation is meant to be public.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// GatewayAPISpec configures the HTTPRoutes.
// +kubebuilder:validation:XValidation:rule="!has(self.enabled) || !self.enabled || (has(self.parentRefs) && size(self.parentRefs) > 0) || (has(self.gatewayClassName) && size(self.gatewayClassName) > 0)",message="gatewayAPI: enabled needs parentRefs or gatewayClassName"
type GatewayAPISpec struct {
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// ParentRefs are existing Gateways the routes attach to.
	// +kubebuilder:validation:MaxItems=8
	// +optional
	ParentRefs []GatewayParentRef `json:"parentRefs,omitempty"`
	// Hostnames of the routes; every host the Gateway accepts when empty.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Pattern=`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Hostnames []string `json:"hostnames,omitempty"`
	// GatewayClassName, when set, has a Gateway of that class created (named after the
	// Bookstore, one HTTP listener on port), and the routes attach to it too.
	// +optional
	GatewayClassName string `json:"gatewayClassName,omitempty"`
	// Port of the created Gateway's HTTP listener.
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`
}

// GatewayParentRef names a Gateway.
type GatewayParentRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Namespace of the Gateway; the Bookstore's when empty.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// SectionName: one listener of the Gateway.
	// +optional
	SectionName string `json:"sectionName,omitempty"`
}

// AuthSpec references the secrets of the authentication setup.
type AuthSpec struct {
	// JWTSecretName of a Secret with the Ed25519 key pair as PEM under
	// private.pem and public.pem. Generated when empty, and then rotated on
	// request (annotation bookstore.dev/rotate-jwt-key); a Secret named here
	// is the user's and never rotated by the operator.
	// +optional
	JWTSecretName string `json:"jwtSecretName,omitempty"`
	// AdminSecretName of a Secret with the admin account under email and
	// password. Generated (once, never rotated) when empty.
	// +optional
	AdminSecretName string `json:"adminSecretName,omitempty"`
}

// ComponentStatus is the readiness of one part of the installation.
type ComponentStatus struct {
	// Name: postgres, redis, kafka, user, token, inventory, order.
	Name string `json:"name"`
	// Ready says whether the component is usable.
	Ready bool `json:"ready"`
	// Version running (services only).
	// +optional
	Version string `json:"version,omitempty"`
	// Message explains a component that is not ready.
	// +optional
	Message string `json:"message,omitempty"`
}

// BookstoreStatus is the observed state of a Bookstore.
type BookstoreStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, InfrastructureReady, MigrationsSucceeded, ServicesAvailable, Degraded,
	// RoutesAccepted, JWTKeyRotated.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Phase summarizes the conditions.
	// +optional
	Phase Phase `json:"phase,omitempty"`
	// Components lists the readiness of each part.
	// +listType=map
	// +listMapKey=name
	// +optional
	Components []ComponentStatus `json:"components,omitempty"`
	// URL is the entry point when an Ingress is enabled: its host, else the
	// address its controller published; empty without an Ingress.
	// +optional
	URL string `json:"url,omitempty"`
}

// Bookstore is the whole Bookstore system: four services, their PostgreSQL,
// Redis and Kafka, and an Ingress, reconciled by the operator.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bs,categories=bookstore
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 34",message="metadata.name: at most 34 characters (MaxNameLength), so every derived name fits 63: the migration Job <name>-inventory-migrate-<hash> keeps its hash and the StatefulSet revision labels stay valid"
type Bookstore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BookstoreSpec   `json:"spec"`
	Status BookstoreStatus `json:"status,omitempty"`
}

// BookstoreList is a list of Bookstores.
//
// +kubebuilder:object:root=true
type BookstoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Bookstore `json:"items"`
}

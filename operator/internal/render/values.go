package render

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/bookstore-platform/bookstore/charts"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// Labels and values the operator puts on everything it renders or builds.
const (
	// InstanceLabel names the Bookstore an object belongs to.
	InstanceLabel = "bookstore.dev/instance"
	// ManagedBy is the app.kubernetes.io/managed-by value of the operator's objects.
	ManagedBy = "bookstore-operator"
	// DefaultImageRepository is the service image when spec.image.repository is empty.
	DefaultImageRepository = "bookstore"
)

// Services returns the four service names in a fixed order.
func Services() []string { return charts.Services() }

// Names derives every object name of a Bookstore from its name.
type Names struct{ Bookstore string }

// Service is the name of a service's Deployment, Service, HPA and PDB.
func (n Names) Service(svc string) string { return n.Bookstore + "-" + svc }

// DatabaseSecret is the Secret the operator derives with a managed service database's DSN (key "url").
func (n Names) DatabaseSecret(svc string) string { return n.Bookstore + "-" + svc + "-database" }

// RedisURLSecret is the Secret the operator derives with the managed Redis URL (key "url").
func (n Names) RedisURLSecret() string { return n.Bookstore + "-redis-url" }

// Credentials is the generated Secret with the managed PostgreSQL and Redis passwords.
func (n Names) Credentials() string { return n.Bookstore + "-credentials" }

// JWT is the generated Secret with the Ed25519 key pair.
func (n Names) JWT() string { return n.Bookstore + "-jwt" }

// Admin is the generated Secret with the admin account.
func (n Names) Admin() string { return n.Bookstore + "-admin" }

// Postgres is the managed PostgreSQL StatefulSet and its headless Service.
func (n Names) Postgres() string { return n.Bookstore + "-postgres" }

// Redis is the managed Redis Deployment and Service.
func (n Names) Redis() string { return n.Bookstore + "-redis" }

// Kafka is the managed Kafka StatefulSet.
func (n Names) Kafka() string { return n.Bookstore + "-kafka" }

// KafkaHeadless is the headless Service giving the Kafka pods stable names.
func (n Names) KafkaHeadless() string { return n.Bookstore + "-kafka-headless" }

// Image returns the service image reference of a spec.
func Image(spec *v1alpha1.BookstoreSpec) string {
	repo := spec.Image.Repository
	if repo == "" {
		repo = DefaultImageRepository
	}
	if spec.Image.Digest != "" {
		return repo + "@" + spec.Image.Digest
	}
	return repo + ":" + imageTag(spec)
}

func imageTag(spec *v1alpha1.BookstoreSpec) string {
	if spec.Image.Tag != "" {
		return spec.Image.Tag
	}
	return spec.Version
}

// MigrationSuffix is the suffix of the migration Job names for a spec: one Job
// per service per image (version, tag or digest) and database. Pointing the
// services at another database (managed to external, another Secret) runs the
// migrations there too.
func MigrationSuffix(spec *v1alpha1.BookstoreSpec) string {
	db := "managed"
	if ext := spec.Postgres.External; ext != nil {
		db = "external:" + ext.SecretName
	}
	return "migrate-" + Hash(Image(spec)+"|"+db)
}

// MigrationJob is the name of a service's migration Job for a spec.
func (n Names) MigrationJob(svc string, spec *v1alpha1.BookstoreSpec) string {
	name := n.Service(svc) + "-" + MigrationSuffix(spec)
	if len(name) > 63 {
		name = name[:63]
	}
	return name
}

// ServiceSpec returns the spec of one service.
func ServiceSpec(spec *v1alpha1.BookstoreSpec, svc string) v1alpha1.ServiceSpec {
	switch svc {
	case "user":
		return spec.Services.User
	case "token":
		return spec.Services.Token
	case "inventory":
		return spec.Services.Inventory
	case "order":
		return spec.Services.Order
	}
	return v1alpha1.ServiceSpec{}
}

// KafkaReplicas is the number of managed Kafka nodes (1 or 3).
func KafkaReplicas(spec *v1alpha1.BookstoreSpec) int32 {
	if m := spec.Kafka.Managed; m != nil && m.Replicas == 3 {
		return 3
	}
	return 1
}

// KafkaBrokers is the bootstrap list of the managed Kafka.
func (n Names) KafkaBrokers(namespace string, replicas int32) string {
	s := ""
	for i := int32(0); i < replicas; i++ {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("%s-%d.%s.%s.svc:9092", n.Kafka(), i, n.KafkaHeadless(), namespace)
	}
	return s
}

// ServiceValues derives the values of a service chart (charts/<svc>) from a
// Bookstore. A Helm user passing the same values to `helm template` gets the
// same objects.
func ServiceValues(b *v1alpha1.Bookstore, svc string) (map[string]any, error) {
	spec := &b.Spec
	n := Names{Bookstore: b.Name}
	ss := ServiceSpec(spec, svc)

	image := map[string]any{
		"repository": spec.Image.Repository,
		"tag":        imageTag(spec),
		"digest":     spec.Image.Digest,
		"pullPolicy": string(spec.ImagePullPolicy),
	}
	if image["repository"] == "" {
		image["repository"] = DefaultImageRepository
	}
	if image["pullPolicy"] == "" {
		image["pullPolicy"] = string(corev1.PullIfNotPresent)
	}
	logLevel := spec.LogLevel
	if logLevel == "" {
		logLevel = "info"
	}

	v := map[string]any{
		"fullnameOverride": n.Service(svc),
		"managedBy":        ManagedBy,
		"commonLabels":     map[string]any{InstanceLabel: b.Name},
		"image":            image,
		"logLevel":         logLevel,
		"pdb":              map[string]any{"enabled": true, "maxUnavailable": 1},
		"migration":        map[string]any{"enabled": true, "hook": false, "nameSuffix": MigrationSuffix(spec)},
		"jwt":              map[string]any{"existingSecret": jwtSecret(b)},
	}
	if len(spec.ImagePullSecrets) > 0 {
		ps, err := toValue(spec.ImagePullSecrets)
		if err != nil {
			return nil, err
		}
		v["imagePullSecrets"] = ps
	}

	if as := ss.Autoscaling; as != nil {
		minR := as.MinReplicas
		if minR == 0 {
			minR = 1
		}
		target := as.TargetCPUUtilizationPercentage
		if target == 0 {
			target = 80
		}
		v["autoscaling"] = map[string]any{
			"enabled": true, "minReplicas": minR, "maxReplicas": as.MaxReplicas,
			"targetCPUUtilizationPercentage": target,
		}
	} else {
		replicas := int32(1)
		if ss.Replicas != nil {
			replicas = *ss.Replicas
		}
		v["autoscaling"] = map[string]any{"enabled": false}
		v["replicaCount"] = replicas
	}
	if ss.Resources != nil {
		r, err := toValue(ss.Resources)
		if err != nil {
			return nil, err
		}
		v["resources"] = r
	}
	if len(ss.Env) > 0 {
		e, err := toValue(ss.Env)
		if err != nil {
			return nil, err
		}
		v["env"] = e
	}

	// PostgreSQL: the service's own database.
	if ext := spec.Postgres.External; ext != nil {
		v["database"] = map[string]any{"url": "", "existingSecret": map[string]any{"name": ext.SecretName, "key": svc}}
	} else {
		v["database"] = map[string]any{"url": "", "existingSecret": map[string]any{"name": n.DatabaseSecret(svc), "key": "url"}}
	}
	// Redis.
	if ext := spec.Redis.External; ext != nil {
		v["redis"] = map[string]any{"url": "", "existingSecret": map[string]any{"name": ext.SecretName, "key": "url"}}
	} else {
		v["redis"] = map[string]any{"url": "", "existingSecret": map[string]any{"name": n.RedisURLSecret(), "key": "url"}}
	}
	// Kafka.
	if ext := spec.Kafka.External; ext != nil {
		k := map[string]any{
			"brokers":          "",
			"existingSecret":   map[string]any{"name": ext.SecretName, "key": "brokers"},
			"securityProtocol": ext.SecurityProtocol,
			"topicReplication": int32(1),
		}
		if ext.TopicReplication != nil {
			k["topicReplication"] = *ext.TopicReplication
		}
		if ext.SASLMechanism != "" {
			k["sasl"] = map[string]any{
				"mechanism": ext.SASLMechanism,
				"existingSecret": map[string]any{
					"name": ext.SecretName, "usernameKey": "username", "passwordKey": "password",
				},
			}
		}
		v["kafka"] = k
	} else {
		replicas := KafkaReplicas(spec)
		v["kafka"] = map[string]any{
			"brokers":          n.KafkaBrokers(b.Namespace, replicas),
			"topicReplication": replicas,
		}
	}
	if svc == "user" {
		v["admin"] = map[string]any{"existingSecret": adminSecret(b)}
	}
	if svc == "order" {
		v["inventoryURL"] = fmt.Sprintf("http://%s:8080", n.Service("inventory"))
	}
	out, err := toValue(v)
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

// IngressValues derives the values of the umbrella chart (charts/bookstore)
// that render only its Ingress: the four service subcharts are disabled (the
// operator renders them one by one, after their migrations).
func IngressValues(b *v1alpha1.Bookstore) map[string]any {
	n := Names{Bookstore: b.Name}
	ing := b.Spec.Ingress
	className := ""
	if ing.ClassName != nil {
		className = *ing.ClassName
	}
	v := map[string]any{
		"fullnameOverride": b.Name,
		"managedBy":        ManagedBy,
		"commonLabels":     map[string]any{InstanceLabel: b.Name},
		"ingress": map[string]any{
			"enabled":       ing.Enabled,
			"className":     className,
			"host":          ing.Host,
			"tlsSecretName": ing.TLSSecretName,
		},
	}
	for _, svc := range Services() {
		v[svc] = map[string]any{"enabled": false, "fullnameOverride": n.Service(svc)}
	}
	return v
}

func jwtSecret(b *v1alpha1.Bookstore) string {
	if b.Spec.Auth.JWTSecretName != "" {
		return b.Spec.Auth.JWTSecretName
	}
	return Names{Bookstore: b.Name}.JWT()
}

func adminSecret(b *v1alpha1.Bookstore) string {
	if b.Spec.Auth.AdminSecretName != "" {
		return b.Spec.Auth.AdminSecretName
	}
	return Names{Bookstore: b.Name}.Admin()
}

// JWTSecret is the Secret with the JWT key pair the services use.
func JWTSecret(b *v1alpha1.Bookstore) string { return jwtSecret(b) }

// AdminSecret is the Secret with the admin account the user service uses.
func AdminSecret(b *v1alpha1.Bookstore) string { return adminSecret(b) }

// toValue turns an API value into the plain form Helm values have after
// reading a values file (maps, slices, strings, float64 numbers), so the
// operator's values and a Helm user's values file are the same data.
func toValue(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("convert values: %w", err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("convert values: %w", err)
	}
	return out, nil
}

package render

import (
	"encoding/json"
	"fmt"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// ServiceValues derives the values of a service chart (charts/<svc>) from a
// Bookstore. A Helm user passing the same values to `helm template` gets the
// same objects.
func ServiceValues(b *v1alpha1.Bookstore, svc string) (map[string]any, error) {
	spec := &b.Spec
	n := Names{Bookstore: b.Name}
	ss := spec.Services.For(svc)

	image := map[string]any{
		"repository": spec.ImageRepository(),
		"tag":        spec.ImageTag(),
		"digest":     spec.Image.Digest,
		"pullPolicy": string(spec.PullPolicy()),
	}

	v := map[string]any{
		"fullnameOverride": n.Service(svc),
		"managedBy":        ManagedBy,
		"commonLabels":     map[string]any{InstanceLabel: b.Name},
		"image":            image,
		"logLevel":         spec.Logging(),
		"pdb":              map[string]any{"enabled": true, "maxUnavailable": 1},
		"migration":        map[string]any{"enabled": true, "hook": false, "nameSuffix": MigrationSuffix(spec)},
		"jwt":              map[string]any{"existingSecret": b.JWTSecretName()},
	}
	if len(spec.ImagePullSecrets) > 0 {
		ps, err := toValue(spec.ImagePullSecrets)
		if err != nil {
			return nil, err
		}
		v["imagePullSecrets"] = ps
	}

	if as := ss.Autoscaling; as != nil {
		v["autoscaling"] = map[string]any{
			"enabled": true, "minReplicas": as.Min(), "maxReplicas": as.MaxReplicas,
			"targetCPUUtilizationPercentage": as.TargetCPU(),
		}
	} else {
		v["autoscaling"] = map[string]any{"enabled": false}
		v["replicaCount"] = ss.ReplicaCount()
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
		replicas := spec.Kafka.ManagedSpec().Nodes()
		v["kafka"] = map[string]any{
			"brokers":          n.KafkaBrokers(b.Namespace, replicas),
			"topicReplication": replicas,
			// the service's own SCRAM user (render.DerivedSecrets), bound by the ACLs of kafkaacl
			"securityProtocol": "SASL_PLAINTEXT",
			"sasl": map[string]any{
				"mechanism": "SCRAM-SHA-512",
				"existingSecret": map[string]any{
					"name": n.KafkaUserSecret(svc), "usernameKey": "username", "passwordKey": "password",
				},
			},
		}
	}
	if svc == "user" {
		v["admin"] = map[string]any{"existingSecret": b.AdminSecretName()}
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
// that render only its Ingresses: the four service subcharts are disabled (the
// operator renders them one by one, after their migrations) and so are the
// Gateway API routes (GatewayAPIValues).
func IngressValues(b *v1alpha1.Bookstore) map[string]any {
	ing := b.Spec.Ingress
	className := ""
	if ing.ClassName != nil {
		className = *ing.ClassName
	}
	v := entryValues(b)
	v["ingress"] = map[string]any{
		"enabled":       ing.Enabled,
		"className":     className,
		"host":          ing.Host,
		"tlsSecretName": ing.TLSSecretName,
	}
	v["networkPolicy"] = networkPolicyValues(b)
	return v
}

// networkPolicyValues: the chart's NetworkPolicies (rendered with the Ingress)
// for the four services, each managed component locked down to the services,
// their migrations and its own pods; entry point and monitoring peers are the
// chart's defaults.
func networkPolicyValues(b *v1alpha1.Bookstore) map[string]any {
	svcs := []any{}
	for _, s := range Services() {
		svcs = append(svcs, s)
	}
	infra := []any{}
	add := func(component string) {
		sel := map[string]any{}
		for k, v := range infraSelector(b, component) {
			sel[k] = v
		}
		infra = append(infra, map[string]any{"name": component, "podSelector": map[string]any{"matchLabels": sel}})
	}
	if b.Spec.Postgres.External == nil {
		add("postgres")
	}
	if b.Spec.Redis.External == nil {
		add("redis")
	}
	if b.Spec.Kafka.External == nil {
		add("kafka")
	}
	return map[string]any{"enabled": true, "services": svcs, "infrastructure": infra}
}

// GatewayAPIValues derives the values of the umbrella chart that render only
// its Gateway API objects (HTTPRoutes, and the Gateway for gatewayClassName):
// nothing when spec.gatewayAPI is off.
func GatewayAPIValues(b *v1alpha1.Bookstore) map[string]any {
	g := b.Spec.GatewayAPI
	parents := []any{}
	for _, p := range g.ParentRefs {
		parents = append(parents, map[string]any{"name": p.Name, "namespace": p.Namespace, "sectionName": p.SectionName})
	}
	hostnames := []any{}
	for _, h := range g.Hostnames {
		hostnames = append(hostnames, h)
	}
	port := g.ListenerPort()
	v := entryValues(b)
	v["gatewayAPI"] = map[string]any{
		"enabled":    g.Enabled,
		"parentRefs": parents,
		"hostnames":  hostnames,
		"gateway":    map[string]any{"className": g.GatewayClassName, "port": float64(port)},
	}
	return v
}

// entryValues: the umbrella chart with no service, no Ingress, no route.
func entryValues(b *v1alpha1.Bookstore) map[string]any {
	n := Names{Bookstore: b.Name}
	docs := b.Spec.Docs.DocsOn()
	v := map[string]any{
		"fullnameOverride": b.Name,
		"managedBy":        ManagedBy,
		"commonLabels":     map[string]any{InstanceLabel: b.Name},
		"docs":             map[string]any{"enabled": docs},
		"ingress":          map[string]any{"enabled": false},
		"gatewayAPI":       map[string]any{"enabled": false},
		"networkPolicy":    map[string]any{"enabled": false},
	}
	for _, svc := range Services() {
		v[svc] = map[string]any{"enabled": false, "fullnameOverride": n.Service(svc)}
	}
	return v
}

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

package charts_test

import (
	"encoding/json"
	"slices"
	"testing"
)

// peers returns the JSON of each peer of a NetworkPolicy's first ingress rule,
// and its ports as "protocol/port".
func peers(t *testing.T, np object) (from, ports []string) {
	t.Helper()
	rules, _ := get(np, "spec", "ingress").([]any)
	if len(rules) != 1 {
		t.Fatalf("%s: %d ingress rules, want 1: %v", np.name(), len(rules), get(np, "spec"))
	}
	for _, p := range get(rules[0], "from").([]any) {
		b, _ := json.Marshal(p)
		from = append(from, string(b))
	}
	if ps, ok := get(rules[0], "ports").([]any); ok {
		for _, p := range ps {
			ports = append(ports, str(p, "protocol")+"/"+str(p, "port"))
		}
	}
	return from, ports
}

const (
	ingressNginx = `{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"ingress-nginx"}}}`
	monitoring   = `{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}`
	orderPods    = `{"podSelector":{"matchLabels":{"app.kubernetes.io/component":"api","app.kubernetes.io/instance":"bs","app.kubernetes.io/name":"order"}}}`
)

func TestNetworkPolicies(t *testing.T) {
	t.Run("defaults: deny all, services from the entry point, monitoring and their callers", func(t *testing.T) {
		objs := mustRender(t, "bookstore", nil)
		deny := find(objs, "NetworkPolicy", "bs-bookstore-default-deny")
		if str(deny, "spec", "podSelector", "matchLabels", "app.kubernetes.io/instance") != "bs" ||
			get(deny, "spec", "ingress") != nil || str(deny, "spec", "policyTypes", "0") != "Ingress" {
			t.Errorf("default deny = %v", get(deny, "spec"))
		}
		for _, svc := range []string{"user", "token", "inventory", "order"} {
			np := find(objs, "NetworkPolicy", "bs-bookstore-"+svc)
			sel, _ := get(np, "spec", "podSelector", "matchLabels").(map[string]any)
			dep := find(objs, "Deployment", "bs-"+svc)
			for k, v := range sel { // the policy selects exactly the service's pods
				if str(dep, "spec", "template", "metadata", "labels", k) != v {
					t.Errorf("%s: selector %s=%v does not match the pods", svc, k, v)
				}
			}
			if len(sel) != 3 || sel["app.kubernetes.io/name"] != svc {
				t.Errorf("%s: selector %v", svc, sel)
			}
			from, ports := peers(t, np)
			want := []string{ingressNginx, monitoring}
			if svc == "inventory" {
				want = append(want, orderPods)
			}
			if !slices.Equal(from, want) || !slices.Equal(ports, []string{"TCP/http"}) {
				t.Errorf("%s: from %v ports %v, want from %v on TCP/http", svc, from, ports, want)
			}
		}
		if n := len(filter(objs, "NetworkPolicy")); n != 5 {
			t.Errorf("%d NetworkPolicies, want 5 (no infrastructure by default)", n)
		}
	})
	t.Run("selectors configurable; infrastructure only from the services, migrations and itself", func(t *testing.T) {
		objs := mustRender(t, "bookstore", yamlValues(t, `
order: {enabled: false}
networkPolicy:
  entryPoint: [{namespaceSelector: {matchLabels: {team: edge}}, podSelector: {matchLabels: {app: haproxy}}}]
  monitoring: []
  infrastructure: [{name: postgres, podSelector: {matchLabels: {app: pg}}}]`))
		if find(objs, "NetworkPolicy", "bs-bookstore-order") != nil {
			t.Errorf("policy for the disabled order service")
		}
		from, _ := peers(t, find(objs, "NetworkPolicy", "bs-bookstore-inventory"))
		if want := []string{`{"namespaceSelector":{"matchLabels":{"team":"edge"}},"podSelector":{"matchLabels":{"app":"haproxy"}}}`}; !slices.Equal(from, want) {
			t.Errorf("inventory from %v, want %v (order disabled: not a caller)", from, want)
		}
		pg := find(objs, "NetworkPolicy", "bs-bookstore-postgres")
		from, ports := peers(t, pg)
		want := []string{
			`{"podSelector":{"matchExpressions":[{"key":"app.kubernetes.io/name","operator":"In","values":["user","token","inventory"]}],"matchLabels":{"app.kubernetes.io/instance":"bs"}}}`,
			`{"podSelector":{"matchLabels":{"app":"pg"}}}`,
		}
		if !slices.Equal(from, want) || ports != nil || str(pg, "spec", "podSelector", "matchLabels", "app") != "pg" {
			t.Errorf("postgres policy: from %v ports %v selector %v, want from %v", from, ports, get(pg, "spec", "podSelector"), want)
		}
	})
	t.Run("no peers: nothing reaches the services (never an empty from)", func(t *testing.T) {
		objs := mustRender(t, "bookstore", yamlValues(t, `networkPolicy: {entryPoint: [], monitoring: [], calls: {}}`))
		if rules, ok := get(find(objs, "NetworkPolicy", "bs-bookstore-user"), "spec", "ingress").([]any); !ok || len(rules) != 0 {
			t.Errorf("user ingress = %v, want []", rules)
		}
	})
	t.Run("off", func(t *testing.T) {
		if objs := mustRender(t, "bookstore", yamlValues(t, `networkPolicy: {enabled: false}`)); len(filter(objs, "NetworkPolicy")) != 0 {
			t.Errorf("NetworkPolicies with networkPolicy.enabled=false: %v", kinds(objs))
		}
	})
}

func filter(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// scrape GETs url over HTTPS (the operator's self-signed certificate) with an
// optional bearer token.
func scrape(url, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test certificate
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// saToken creates ServiceAccount name in default and returns a token of it
// (TokenRequest), bound to the ClusterRole role unless role is empty.
func saToken(ctx context.Context, t *testing.T, c client.Client, cfg *rest.Config, name, role string) string {
	t.Helper()
	if err := c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}); err != nil {
		t.Fatal(err)
	}
	if role != "" {
		if err := c.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: "default"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token of %s: %v", name, err)
	}
	return tr.Status.Token
}

// checkSecureMetrics: /metrics is HTTPS and answers only a token the API
// server authenticates and authorizes (the metrics-reader ClusterRole of
// manifests/rbac): none and one the API server rejects are 401, a
// ServiceAccount without the role 403.
func checkSecureMetrics(ctx context.Context, t *testing.T, c client.Client, cfg *rest.Config, url string) {
	t.Helper()
	reader := saToken(ctx, t, c, cfg, "scraper", "bookstore-operator-metrics-reader")
	nobody := saToken(ctx, t, c, cfg, "nobody", "")
	wait(t, "metrics for the metrics reader", func() error {
		code, body, err := scrape(url, reader)
		if err != nil {
			return err
		}
		if code != http.StatusOK || !strings.Contains(body, `controller_runtime_reconcile_total{controller="bookstore"`) {
			return fmt.Errorf("/metrics: %d, no reconcile counter of the bookstore controller", code)
		}
		return nil
	})
	for _, tc := range []struct {
		who, token string
		want       int
	}{{"no token", "", http.StatusUnauthorized}, {"a forged token", "not-a-token", http.StatusUnauthorized}, {"a ServiceAccount without the role", nobody, http.StatusForbidden}} {
		code, body, err := scrape(url, tc.token)
		if err != nil || code != tc.want || strings.Contains(body, "controller_runtime") {
			t.Errorf("%s: /metrics %d (%v), want %d and no metrics", tc.who, code, err, tc.want)
		}
	}
	if code, _, err := get(strings.Replace(url, "https://", "http://", 1)); err == nil && code == http.StatusOK {
		t.Errorf("/metrics answered plain HTTP")
	}
}

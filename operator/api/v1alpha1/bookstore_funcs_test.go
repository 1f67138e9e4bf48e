package v1alpha1_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

func TestSecretNames(t *testing.T) {
	for _, tc := range []struct {
		name          string
		auth          v1alpha1.AuthSpec
		jwt, admin    string
		genJWT, genAd bool
	}{
		{"generated", v1alpha1.AuthSpec{}, "shop-jwt", "shop-admin", true, true},
		{"user-provided", v1alpha1.AuthSpec{JWTSecretName: "keys", AdminSecretName: "root"}, "keys", "root", false, false},
		{"mixed", v1alpha1.AuthSpec{AdminSecretName: "root"}, "shop-jwt", "root", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Spec: v1alpha1.BookstoreSpec{Auth: tc.auth}}
			if b.JWTSecretName() != tc.jwt || b.AdminSecretName() != tc.admin || b.GeneratesJWTSecret() != tc.genJWT || b.GeneratesAdminSecret() != tc.genAd {
				t.Errorf("jwt %s (generated %v), admin %s (generated %v)", b.JWTSecretName(), b.GeneratesJWTSecret(), b.AdminSecretName(), b.GeneratesAdminSecret())
			}
			if b.GeneratedCredentialsSecretName() != "shop-credentials" {
				t.Errorf("credentials %s", b.GeneratedCredentialsSecretName())
			}
		})
	}
}

func TestCredentialsOwned(t *testing.T) {
	del := v1alpha1.StorageSpec{ReclaimPolicy: v1alpha1.ReclaimDelete}
	for _, tc := range []struct {
		name    string
		pg      v1alpha1.PostgresSpec
		redis   v1alpha1.RedisSpec
		manages bool
		owned   bool
	}{
		{"managed, default retain", v1alpha1.PostgresSpec{}, v1alpha1.RedisSpec{}, true, false},
		{"managed, delete", v1alpha1.PostgresSpec{Managed: &v1alpha1.ManagedPostgres{Storage: del}}, v1alpha1.RedisSpec{}, true, true},
		{"external postgres, managed redis", v1alpha1.PostgresSpec{External: &v1alpha1.ExternalPostgres{SecretName: "pg"}}, v1alpha1.RedisSpec{}, true, true},
		{"all external", v1alpha1.PostgresSpec{External: &v1alpha1.ExternalPostgres{SecretName: "pg"}}, v1alpha1.RedisSpec{External: &v1alpha1.ExternalRedis{SecretName: "r"}}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &v1alpha1.Bookstore{Spec: v1alpha1.BookstoreSpec{Postgres: tc.pg, Redis: tc.redis}}
			if b.ManagesInfrastructure() != tc.manages || b.CredentialsOwned() != tc.owned {
				t.Errorf("manages %v owned %v, want %v %v", b.ManagesInfrastructure(), b.CredentialsOwned(), tc.manages, tc.owned)
			}
		})
	}
}

func TestServiceImage(t *testing.T) {
	digest := "sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
	for _, tc := range []struct {
		image v1alpha1.ImageSpec
		want  string
	}{
		{v1alpha1.ImageSpec{}, "bookstore:1.2.3"},
		{v1alpha1.ImageSpec{Repository: "r.example/bs", Tag: "rc1"}, "r.example/bs:rc1"},
		{v1alpha1.ImageSpec{Tag: "rc1", Digest: digest}, "bookstore@" + digest},
	} {
		spec := &v1alpha1.BookstoreSpec{Version: "1.2.3", Image: tc.image}
		if got := spec.ServiceImage(); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.image, got, tc.want)
		}
	}
}

func TestServicesFor(t *testing.T) {
	s := v1alpha1.ServicesSpec{
		User: v1alpha1.ServiceSpec{Replicas: ptr.To(int32(1))}, Token: v1alpha1.ServiceSpec{Replicas: ptr.To(int32(2))},
		Inventory: v1alpha1.ServiceSpec{Replicas: ptr.To(int32(3))}, Order: v1alpha1.ServiceSpec{Replicas: ptr.To(int32(4))},
	}
	for svc, want := range map[string]int32{"user": 1, "token": 2, "inventory": 3, "order": 4} {
		if got := s.For(svc).ReplicaCount(); got != want {
			t.Errorf("%s: %d replicas, want %d", svc, got, want)
		}
	}
	if got := s.For("nope").ReplicaCount(); got != v1alpha1.DefaultReplicas {
		t.Errorf("unknown service: %d replicas", got)
	}
	if n := (v1alpha1.ManagedKafka{Replicas: 3}).Nodes(); n != 3 {
		t.Errorf("kafka nodes %d", n)
	}
}

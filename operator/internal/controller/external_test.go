package controller

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

func testExternalPostgres(t *testing.T, h *harness) {
	b := &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: h.ns},
		Spec: v1alpha1.BookstoreSpec{
			Version:  "2.0.0",
			Postgres: v1alpha1.PostgresSpec{External: &v1alpha1.ExternalPostgres{SecretName: "shared-pg"}},
		},
	}
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	n := render.Names{Bookstore: b.Name}
	h.markStatefulSetReady(n.Kafka())
	h.markDeploymentReady(n.Redis())
	eventually(t, "InfrastructureReady=False names the missing Secret", func() error {
		c := meta.FindStatusCondition(h.bookstore(b.Name).Status.Conditions, v1alpha1.ConditionInfrastructureReady)
		if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "Secret shared-pg not found") {
			return errors.New("condition " + h.cond(b.Name, v1alpha1.ConditionInfrastructureReady))
		}
		return nil
	})
	if err := h.exists(&appsv1.StatefulSet{}, n.Postgres()); !apierrors.IsNotFound(err) {
		t.Errorf("managed postgres StatefulSet with an external PostgreSQL: %v", err)
	}
	if err := h.exists(&corev1.Secret{}, n.DatabaseSecret("user")); !apierrors.IsNotFound(err) {
		t.Errorf("derived DSN Secret with an external PostgreSQL: %v", err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shared-pg", Namespace: h.ns}, StringData: map[string]string{}}
	for _, svc := range render.Services() {
		secret.StringData[svc] = "postgres://" + svc + ":pw@db.example:5432/" + svc + "?sslmode=require"
	}
	if err := h.c.Create(h.ctx, secret); err != nil {
		t.Fatal(err)
	}
	h.waitCond(b.Name, v1alpha1.ConditionInfrastructureReady, "True") // within the 30 s requeue
	for _, svc := range render.Services() {
		j := &batchv1.Job{}
		h.waitExists(j, n.MigrationJob(svc, &b.Spec))
		var db *corev1.EnvVar
		for i, e := range j.Spec.Template.Spec.Containers[0].Env {
			if e.Name == "BOOKSTORE_DATABASE_URL" {
				db = &j.Spec.Template.Spec.Containers[0].Env[i]
			}
		}
		if db == nil || db.ValueFrom == nil || db.ValueFrom.SecretKeyRef.Name != "shared-pg" || db.ValueFrom.SecretKeyRef.Key != svc {
			t.Errorf("%s migration: BOOKSTORE_DATABASE_URL = %+v, want Secret shared-pg key %s", svc, db, svc)
		}
	}
	h.bringUp(b.Name)
	d := &appsv1.Deployment{}
	h.waitExists(d, n.Service("token"))
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "BOOKSTORE_DATABASE_URL" && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != "shared-pg" || e.ValueFrom.SecretKeyRef.Key != "token") {
			t.Errorf("token deployment: BOOKSTORE_DATABASE_URL = %+v", e)
		}
	}
}

// testExternalSample applies manifests/samples/bookstore-external.yaml: with
// everything external the operator runs no infrastructure and wires the
// services to the referenced Secrets.
func testExternalSample(t *testing.T, h *harness, root string) {
	data, err := os.ReadFile(filepath.Join(root, "manifests", "samples", "bookstore-external.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	name := ""
	for _, o := range objs {
		o.SetNamespace(h.ns)
		if o.GetKind() == v1alpha1.Kind {
			name = o.GetName()
		}
		if err := h.c.Create(h.ctx, o); err != nil {
			t.Fatalf("create %s: %v", objKey(o), err)
		}
	}
	h.waitCond(name, v1alpha1.ConditionInfrastructureReady, "True")
	h.bringUp(name)
	n := render.Names{Bookstore: name}
	var sets appsv1.StatefulSetList
	if err := h.c.List(h.ctx, &sets, client.InNamespace(h.ns)); err != nil || len(sets.Items) != 0 {
		t.Errorf("StatefulSets with external infrastructure: %d (%v)", len(sets.Items), err)
	}
	if err := h.exists(&appsv1.Deployment{}, n.Redis()); !apierrors.IsNotFound(err) {
		t.Errorf("managed Redis with an external one: %v", err)
	}
	if err := h.exists(&corev1.Secret{}, n.Credentials()); !apierrors.IsNotFound(err) {
		t.Errorf("generated credentials with nothing managed: %v", err)
	}
	d := &appsv1.Deployment{}
	h.waitExists(d, n.Service("order"))
	env := map[string]corev1.EnvVar{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	for envName, want := range map[string]string{
		"BOOKSTORE_DATABASE_URL":        "shop-postgres/order",
		"BOOKSTORE_REDIS_URL":           "shop-redis/url",
		"BOOKSTORE_KAFKA_BROKERS":       "shop-kafka/brokers",
		"BOOKSTORE_KAFKA_SASL_USERNAME": "shop-kafka/username",
		"BOOKSTORE_KAFKA_SASL_PASSWORD": "shop-kafka/password",
	} {
		e := env[envName]
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key != want {
			t.Errorf("%s = %+v, want from Secret %s", envName, e, want)
		}
	}
	if env["BOOKSTORE_KAFKA_SECURITY_PROTOCOL"].Value != "SASL_SSL" || env["BOOKSTORE_KAFKA_SASL_MECHANISM"].Value != "SCRAM-SHA-512" ||
		env["BOOKSTORE_KAFKA_TOPIC_REPLICATION"].Value != "3" {
		t.Errorf("kafka settings: %v %v %v", env["BOOKSTORE_KAFKA_SECURITY_PROTOCOL"], env["BOOKSTORE_KAFKA_SASL_MECHANISM"], env["BOOKSTORE_KAFKA_TOPIC_REPLICATION"])
	}
	if got := h.bookstore(name).Status.URL; got != "https://shop.example.com/" {
		t.Errorf("url %q", got)
	}
}

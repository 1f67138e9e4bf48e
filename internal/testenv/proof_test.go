package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/internal/testenv/kubeenv"
)

// These tests prove that the servers `make test` provides are real and behave as the
// services rely on.

func TestPostgres(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE books (id int PRIMARY KEY, title text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO books VALUES (1, 'Dune'), (2, 'Emma')`); err != nil {
		t.Fatal(err)
	}
	var title string
	if err := conn.QueryRow(ctx, `SELECT title FROM books WHERE id = $1`, 2).Scan(&title); err != nil {
		t.Fatal(err)
	}
	if title != "Emma" {
		t.Fatalf("title = %q, want Emma", title)
	}
	// The database is the test's own: a second one does not see this table.
	other, err := pgx.Connect(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := other.Exec(ctx, `SELECT 1 FROM books`); err == nil {
		t.Fatal("a fresh database already has the table books")
	}
}

func TestRedis(t *testing.T) {
	ctx := context.Background()
	opts, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	key := testenv.Name(t, "k")
	if err := c.Set(ctx, key, "revoked", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, key).Result(); err != nil || v != "revoked" {
		t.Fatalf("GET = %q, %v; want revoked", v, err)
	}
	ttl, err := c.TTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 50*time.Second || ttl > time.Minute {
		t.Fatalf("TTL = %v, want just under 1m", ttl)
	}
	if err := c.Get(ctx, testenv.Name(t, "absent")).Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET of a missing key: %v, want redis.Nil", err)
	}
}

func TestKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// hack/servers.sh runs Kafka with SASL/SCRAM: the super user's settings.
	k := testenv.KafkaConfig(t, 1)
	brokers := strings.Join(k.Brokers, ",")
	conf := func(m kafka.ConfigMap) *kafka.ConfigMap {
		m["bootstrap.servers"] = brokers
		if k.SASLUsername != "" {
			m["security.protocol"], m["sasl.mechanisms"] = k.SecurityProtocol, k.SASLMechanism
			m["sasl.username"], m["sasl.password"] = k.SASLUsername, k.SASLPassword
		}
		return &m
	}
	topic, group := testenv.Name(t, "topic"), testenv.Name(t, "group")

	admin, err := kafka.NewAdminClient(conf(kafka.ConfigMap{}))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}})
	if err != nil || res[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("create topic: %v %v", err, res)
	}

	p, err := kafka.NewProducer(conf(kafka.ConfigMap{"enable.idempotence": true, "acks": "all"}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	produce := func(i int) {
		t.Helper()
		done := make(chan kafka.Event, 1)
		if err := p.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte("order-1"), Value: []byte(fmt.Sprintf("event-%d", i)),
		}, done); err != nil {
			t.Fatal(err)
		}
		if m := (<-done).(*kafka.Message); m.TopicPartition.Error != nil {
			t.Fatalf("delivery: %v", m.TopicPartition.Error)
		}
	}
	for i := range 4 {
		produce(i)
	}

	newConsumer := func() *kafka.Consumer {
		t.Helper()
		c, err := kafka.NewConsumer(conf(kafka.ConfigMap{
			"group.id":          group,
			"auto.offset.reset": "earliest", "enable.auto.commit": false,
		}))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Subscribe(topic, nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	read := func(c *kafka.Consumer) *kafka.Message {
		t.Helper()
		for ctx.Err() == nil {
			m, err := c.ReadMessage(time.Second)
			if err == nil {
				return m
			}
			var kerr kafka.Error
			if !errors.As(err, &kerr) || !kerr.IsTimeout() {
				t.Fatalf("read: %v", err)
			}
		}
		t.Fatal("no message before the deadline")
		return nil
	}

	// Consume two, commit only the first, close: a restarted member of the group must
	// resume right after the committed offset (at least once: event-1 comes again).
	c := newConsumer()
	first := read(c)
	if string(first.Value) != "event-0" {
		t.Fatalf("first message %q, want event-0", first.Value)
	}
	if _, err := c.CommitMessage(first); err != nil {
		t.Fatal(err)
	}
	if m := read(c); string(m.Value) != "event-1" {
		t.Fatalf("second message %q, want event-1", m.Value)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c = newConsumer()
	defer c.Close()
	for _, want := range []string{"event-1", "event-2", "event-3"} {
		if m := read(c); string(m.Value) != want {
			t.Fatalf("after restart got %q, want %q", m.Value, want)
		}
	}
}

func TestKube(t *testing.T) {
	ctx := context.Background()
	cfg := kubeenv.Kube(t)
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	crd := &apiextv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.dev"},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: "example.dev", Scope: apiextv1.NamespaceScoped,
			Names: apiextv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}},
			}},
		},
	}
	if err := c.Create(ctx, crd); err != nil {
		t.Fatal(err)
	}
	var gotCRD apiextv1.CustomResourceDefinition
	if err := c.Get(ctx, client.ObjectKey{Name: crd.Name}, &gotCRD); err != nil {
		t.Fatal(err)
	}
	if gotCRD.Spec.Names.Kind != "Widget" {
		t.Fatalf("CRD kind %q", gotCRD.Spec.Names.Kind)
	}

	labels := map[string]string{"app": "user"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "user", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "user", Image: "bookstore:dev"}}},
			},
		},
	}
	if err := c.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	var got appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKeyFromObject(dep), &got); err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Replicas != 2 || got.Spec.Template.Spec.Containers[0].Image != "bookstore:dev" || got.UID == "" {
		t.Fatalf("read back %+v", got.Spec)
	}
	// The API server validates: a Deployment whose selector does not match its pods is refused.
	bad := dep.DeepCopy()
	bad.ResourceVersion, bad.Name = "", "bad"
	bad.Spec.Template.Labels = map[string]string{"app": "other"}
	if err := c.Create(ctx, bad); err == nil {
		t.Fatal("the API server accepted a Deployment whose selector does not match its template")
	}
}

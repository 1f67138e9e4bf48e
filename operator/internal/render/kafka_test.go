package render_test

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// TestManagedKafka checks the KRaft settings for 1 and 3 nodes.
func TestManagedKafka(t *testing.T) {
	for _, tc := range []struct {
		replicas    int32
		voters      int
		minISR, rf  string
		brokerCount int
	}{
		{1, 1, "1", "1", 1},
		{3, 3, "2", "3", 3},
	} {
		t.Run(fmt.Sprint(tc.replicas), func(t *testing.T) {
			b := &v1alpha1.Bookstore{
				ObjectMeta: metav1.ObjectMeta{Name: "k", Namespace: "ns", UID: "6f1c3a52-9d0e-4d7b-a1a8-0c9f1e2d3b4a"},
				Spec:       v1alpha1.BookstoreSpec{Version: "1", Kafka: v1alpha1.KafkaSpec{Managed: &v1alpha1.ManagedKafka{Replicas: tc.replicas}}},
			}
			objs := render.ManagedKafka(b)
			sts := &appsv1.StatefulSet{}
			svc := &corev1.Service{}
			cm := &corev1.ConfigMap{}
			for _, o := range objs {
				switch o := o.(type) {
				case *appsv1.StatefulSet:
					sts = o
				case *corev1.Service:
					svc = o
				case *corev1.ConfigMap:
					cm = o
				}
			}
			if *sts.Spec.Replicas != tc.replicas || sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement || sts.Spec.ServiceName != svc.Name {
				t.Errorf("statefulset: replicas %d policy %s serviceName %s", *sts.Spec.Replicas, sts.Spec.PodManagementPolicy, sts.Spec.ServiceName)
			}
			if svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
				t.Errorf("service: clusterIP %q publishNotReady %v", svc.Spec.ClusterIP, svc.Spec.PublishNotReadyAddresses)
			}
			env := map[string]string{}
			for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
				env[e.Name] = e.Value
			}
			props := properties(cm.Data["server.properties"])
			if got := len(strings.Split(props["controller.quorum.voters"], ",")); got != tc.voters {
				t.Errorf("%d voters, want %d: %s", got, tc.voters, props["controller.quorum.voters"])
			}
			if props["min.insync.replicas"] != tc.minISR || props["offsets.topic.replication.factor"] != tc.rf ||
				props["process.roles"] != "broker,controller" || props["auto.create.topics.enable"] != "false" {
				t.Errorf("server.properties %v", props)
			}
			if c := sts.Spec.Template.Spec.Containers[0]; len(c.Command) != 2 || c.Command[1] != "/etc/bookstore/kafka/start.sh" {
				t.Errorf("kafka command %v, want the operator's start.sh", c.Command)
			}
			if id := env["CLUSTER_ID"]; len(id) != 22 {
				t.Errorf("CLUSTER_ID %q is not 22 characters of base64", id)
			}
			brokers := render.Names{Bookstore: b.Name}.KafkaBrokers(b.Namespace, b.Spec.Kafka.ManagedSpec().Nodes())
			if got := len(strings.Split(brokers, ",")); got != tc.brokerCount {
				t.Errorf("brokers %q", brokers)
			}
			vals, err := render.ServiceValues(b, "order")
			if err != nil {
				t.Fatal(err)
			}
			if k := vals["kafka"].(map[string]any); k["brokers"] != brokers || fmt.Sprint(k["topicReplication"]) != tc.rf {
				t.Errorf("service kafka values %v", k)
			}
		})
	}
}

// properties parses a Java properties file (key=value lines, # comments).
func properties(s string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out
}

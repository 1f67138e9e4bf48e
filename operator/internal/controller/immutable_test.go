package controller

import (
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// testNameLength: the API server takes a name of MaxNameLength characters
// and refuses one more, naming the limit.
func testNameLength(t *testing.T, h *harness) {
	for _, tc := range []struct {
		n      int
		accept bool
	}{{v1alpha1.MaxNameLength, true}, {v1alpha1.MaxNameLength + 1, false}, {63, false}} {
		b := &v1alpha1.Bookstore{
			ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "n" + strings.Repeat("a", tc.n-1)},
			Spec:       v1alpha1.BookstoreSpec{Version: "1.0.0"},
		}
		err := h.c.Create(h.ctx, b, client.DryRunAll)
		switch {
		case tc.accept && err != nil:
			t.Errorf("a name of %d characters was refused: %v", tc.n, err)
		case !tc.accept && (!apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "at most 34 characters")):
			t.Errorf("a name of %d characters: got %v, want Invalid naming the limit of 34", tc.n, err)
		}
	}
}

// testKafkaReplicasImmutable: spec.kafka.managed.replicas cannot change on a
// live Bookstore (topics and KRaft voters keep their first size); other
// changes still go through.
func testKafkaReplicasImmutable(t *testing.T, h *harness) {
	b := &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "kafka-size"},
		Spec:       v1alpha1.BookstoreSpec{Version: "1.0.0", Kafka: v1alpha1.KafkaSpec{Managed: &v1alpha1.ManagedKafka{}}},
	}
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.c.Delete(h.ctx, b) })
	live := h.bookstore(b.Name)
	if live.Spec.Kafka.Managed.Replicas != 1 {
		t.Fatalf("defaulted kafka replicas = %d, want 1", live.Spec.Kafka.Managed.Replicas)
	}
	resized := live.DeepCopy()
	resized.Spec.Kafka.Managed.Replicas = 3
	err := h.c.Update(h.ctx, resized, client.DryRunAll)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "kafka.managed.replicas is immutable") {
		t.Errorf("kafka replicas 1 → 3: got %v, want Invalid (immutable)", err)
	}
	bumped := live.DeepCopy()
	bumped.Spec.Version = "1.0.1"
	if err := h.c.Update(h.ctx, bumped, client.DryRunAll); err != nil {
		t.Errorf("a version change next to the unchanged kafka replicas was refused: %v", err)
	}
}

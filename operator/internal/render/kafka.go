package render

import (
	"encoding/base64"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// kafkaUID is appuser of the apache/kafka image.
const kafkaUID = 1000

// KafkaClusterID derives the KRaft cluster id (22 characters of URL-safe
// base64 of 16 bytes) from the Bookstore's UID: stable for its lifetime.
func KafkaClusterID(b *v1alpha1.Bookstore) string {
	raw := []byte(strings.ReplaceAll(string(b.UID), "-", ""))
	id := make([]byte, 16)
	copy(id, raw)
	return base64.RawURLEncoding.EncodeToString(id)
}

// ManagedKafka returns the headless Service and the StatefulSet of a KRaft
// Kafka of 1 or 3 combined broker+controller nodes.
func ManagedKafka(b *v1alpha1.Bookstore) []client.Object {
	c := newComponent(b, "kafka")
	m := b.Spec.Kafka.ManagedSpec()
	replicas := m.Nodes()
	domain := fmt.Sprintf("%s.%s.svc", c.n.KafkaHeadless(), b.Namespace)
	voters := make([]string, 0, replicas)
	for i := range replicas {
		voters = append(voters, fmt.Sprintf("%d@%s-%d.%s:9093", i, c.n.Kafka(), i, domain))
	}
	minISR := "1"
	if replicas == 3 {
		minISR = "2"
	}
	rf := fmt.Sprint(replicas)
	svc := c.service(c.n.KafkaHeadless(), corev1.ServiceSpec{
		ClusterIP:                corev1.ClusterIPNone,
		PublishNotReadyAddresses: true, // the KRaft quorum forms before the nodes are ready
		Ports:                    []corev1.ServicePort{servicePort("broker", 9092), servicePort("controller", 9093)},
	})
	env := []corev1.EnvVar{
		{Name: "CLUSTER_ID", Value: KafkaClusterID(b)},
		{Name: "KAFKA_PROCESS_ROLES", Value: "broker,controller"},
		{Name: "KAFKA_CONTROLLER_QUORUM_VOTERS", Value: strings.Join(voters, ",")},
		{Name: "KAFKA_LISTENERS", Value: "PLAINTEXT://:9092,CONTROLLER://:9093"},
		{Name: "KAFKA_CONTROLLER_LISTENER_NAMES", Value: "CONTROLLER"},
		{Name: "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", Value: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"},
		{Name: "KAFKA_INTER_BROKER_LISTENER_NAME", Value: "PLAINTEXT"},
		{Name: "KAFKA_LOG_DIRS", Value: "/var/lib/kafka/data/logs"},
		{Name: "KAFKA_AUTO_CREATE_TOPICS_ENABLE", Value: "false"},
		{Name: "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", Value: rf},
		{Name: "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", Value: rf},
		{Name: "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", Value: minISR},
		{Name: "KAFKA_MIN_INSYNC_REPLICAS", Value: minISR},
		{Name: "KAFKA_HEAP_OPTS", Value: "-Xms256m -Xmx512m"},
	}
	pod := c.pod(kafkaUID, ptr.To(int64(60)), corev1.Container{
		Name:  "kafka",
		Image: m.ImageOrDefault(),
		// node id and advertised name from the pod's ordinal and stable DNS name
		Command: []string{"sh", "-c", fmt.Sprintf(
			"export KAFKA_NODE_ID=\"${HOSTNAME##*-}\" KAFKA_ADVERTISED_LISTENERS=\"PLAINTEXT://${HOSTNAME}.%s:9092\"; exec /etc/kafka/docker/run", domain)},
		Env:   env,
		Ports: []corev1.ContainerPort{containerPort("broker", 9092), containerPort("controller", 9093)},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  tcpProbe("broker"),
			PeriodSeconds: 5, FailureThreshold: 3,
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:        tcpProbe("controller"),
			InitialDelaySeconds: 60, PeriodSeconds: 10, FailureThreshold: 6,
		},
		Resources:    resourcesOr(m.Resources, "200m", "1Gi"),
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/kafka/data"}},
	})
	sts := c.statefulSet(c.n.Kafka(), c.n.KafkaHeadless(), replicas, m.Storage, pod)
	sts.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	return []client.Object{svc, sts}
}

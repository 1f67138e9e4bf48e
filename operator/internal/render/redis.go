package render

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// redisUID is the redis user of the Debian-based Redis images.
const redisUID = 999

// ManagedRedis returns the Service and Deployment of the managed Redis
// (append-only file on the pod's volume, fsync every second: revoked token
// ids survive a Redis crash and container restart; they expire with their
// tokens).
func ManagedRedis(b *v1alpha1.Bookstore) []client.Object {
	c := newComponent(b, "redis")
	m := b.Spec.Redis.ManagedSpec()
	svc := c.service(c.n.Redis(), corev1.ServiceSpec{
		Ports: []corev1.ServicePort{servicePort("redis", 6379)},
	})
	pod := c.pod(redisUID, nil, corev1.Container{
		Name:  "redis",
		Image: m.ImageOrDefault(),
		Args:  []string{"--requirepass", "$(REDIS_PASSWORD)", "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"},
		Env:   []corev1.EnvVar{c.credential("REDIS_PASSWORD", RedisPasswordKey)},
		Ports: []corev1.ContainerPort{containerPort("redis", 6379)},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  tcpProbe("redis"),
			PeriodSeconds: 5,
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:        tcpProbe("redis"),
			InitialDelaySeconds: 10, PeriodSeconds: 10,
		},
		Resources:    resourcesOr(m.Resources, "50m", "128Mi"),
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
	}, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: c.meta(c.n.Redis()),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: c.sel},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: pod,
		},
	}
	return []client.Object{svc, dep}
}

package render

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// The managed PostgreSQL, Redis and Kafka are built here as typed objects
// rather than rendered from a chart: the Helm path of Bookstore points at
// existing infrastructure (charts/bookstore), so these objects exist only for
// the operator and have no second copy to keep in sync (docs/operator.md).
// The operator converts them to unstructured once, where it applies them.

// Infrastructure returns every managed infrastructure object of b (PostgreSQL,
// Redis, Kafka, unless external) and, given the generated credentials, the
// Secrets derived from them.
func Infrastructure(b *v1alpha1.Bookstore, creds *corev1.Secret) []client.Object {
	var out []client.Object
	if b.Spec.Postgres.External == nil {
		out = append(out, ManagedPostgres(b)...)
	}
	if b.Spec.Redis.External == nil {
		out = append(out, ManagedRedis(b)...)
	}
	if b.Spec.Kafka.External == nil {
		out = append(out, ManagedKafka(b)...)
	}
	if creds != nil {
		out = append(out, DerivedSecrets(b, creds)...)
	}
	return out
}

// InfraLabels are the labels of a managed component's objects.
func InfraLabels(b *v1alpha1.Bookstore, component string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       component,
		"app.kubernetes.io/instance":   b.Name,
		"app.kubernetes.io/component":  component,
		"app.kubernetes.io/part-of":    "bookstore",
		"app.kubernetes.io/managed-by": ManagedBy,
		InstanceLabel:                  b.Name,
	}
}

func infraSelector(b *v1alpha1.Bookstore, component string) map[string]string {
	return map[string]string{"app.kubernetes.io/instance": b.Name, "app.kubernetes.io/component": component}
}

func retention(s v1alpha1.StorageSpec) *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	p := appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	if s.Reclaim() == v1alpha1.ReclaimDelete {
		p = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	}
	return &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: p, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType}
}

func claim(s v1alpha1.StorageSpec) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: s.StorageClassName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: s.SizeOrDefault()}},
		},
	}
}

func resourcesOr(r *corev1.ResourceRequirements, cpu, mem string) corev1.ResourceRequirements {
	if r != nil {
		return *r
	}
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(mem)},
	}
}

func containerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func podSecurity(uid int64) *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To(uid),
		RunAsGroup:     ptr.To(uid),
		FSGroup:        ptr.To(uid),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// component holds what the objects of one managed component share: the
// Bookstore, its object names and the component's labels and selector.
type component struct {
	b      *v1alpha1.Bookstore
	n      Names
	labels map[string]string
	sel    map[string]string
}

func newComponent(b *v1alpha1.Bookstore, name string) component {
	return component{b: b, n: Names{Bookstore: b.Name}, labels: InfraLabels(b, name), sel: infraSelector(b, name)}
}

// meta is the metadata of the component's object name.
func (c component) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: c.b.Namespace, Labels: c.labels}
}

// service is a Service selecting the component's pods.
func (c component) service(name string, spec corev1.ServiceSpec) *corev1.Service {
	spec.Selector = c.sel
	return &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: c.meta(name), Spec: spec}
}

// statefulSet is a StatefulSet of the component's pods with the volume claim
// "data" of storage.
func (c component) statefulSet(name, serviceName string, replicas int32, storage v1alpha1.StorageSpec, pod corev1.PodTemplateSpec) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: c.meta(name),
		Spec: appsv1.StatefulSetSpec{
			Replicas:                             ptr.To(replicas),
			ServiceName:                          serviceName,
			Selector:                             &metav1.LabelSelector{MatchLabels: c.sel},
			PersistentVolumeClaimRetentionPolicy: retention(storage),
			VolumeClaimTemplates:                 []corev1.PersistentVolumeClaim{claim(storage)},
			Template:                             pod,
		},
	}
}

// pod is the component's pod template: one hardened container running as
// uid, no service account token, no service links.
func (c component) pod(uid int64, grace *int64, ctr corev1.Container, volumes ...corev1.Volume) corev1.PodTemplateSpec {
	ctr.SecurityContext = containerSecurity()
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: c.labels},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			SecurityContext:               podSecurity(uid),
			TerminationGracePeriodSeconds: grace,
			Containers:                    []corev1.Container{ctr},
			Volumes:                       volumes,
		},
	}
}

// credential is an environment variable from key of the generated credentials Secret.
func servicePort(name string, port int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromString(name), Protocol: corev1.ProtocolTCP}
}

func containerPort(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}
}

func tcpProbe(port string) corev1.ProbeHandler {
	return corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(port)}}
}

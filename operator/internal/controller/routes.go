package controller

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;gateways,verbs=get;list;watch;create;patch;delete

// gatewayKinds are the owned kinds of the Gateway API, watched and pruned
// only where its CRDs are installed (BookstoreReconciler.GatewayAPI).
func gatewayKinds() []ownedKind {
	return []ownedKind{
		{&gatewayv1.HTTPRoute{}, &gatewayv1.HTTPRouteList{}},
		{&gatewayv1.Gateway{}, &gatewayv1.GatewayList{}},
	}
}

// kinds is ownedKinds plus the Gateway API kinds when their CRDs exist.
func (r *BookstoreReconciler) kinds() []ownedKind {
	if r.GatewayAPI {
		return append(ownedKinds(), gatewayKinds()...)
	}
	return ownedKinds()
}

// GatewayAPIInstalled reports whether the API server serves
// gateway.networking.k8s.io/v1 HTTPRoutes and Gateways (the CRDs of
// sigs.k8s.io/gateway-api). Without them the operator neither watches nor
// creates routes and says so in the RoutesAccepted condition.
func GatewayAPIInstalled(cfg *rest.Config) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, fmt.Errorf("discovery: %w", err)
	}
	res, err := dc.ServerResourcesForGroupVersion(gatewayv1.GroupVersion.String())
	if err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("discovery of %s: %w", gatewayv1.GroupVersion, err)
	}
	found := map[string]bool{}
	for _, r := range res.APIResources {
		found[r.Kind] = true
	}
	return found["HTTPRoute"] && found["Gateway"], nil
}

// routeState is what the reconcile saw of the HTTPRoutes.
type routeState struct {
	enabled bool
	missing bool     // spec.gatewayAPI on, no Gateway API CRDs
	parents int      // parent statuses reported by the Gateway controllers
	refused []string // "<route> by <gateway>: <reason>: <message>"
}

// reconcileRoutes applies the Gateway API objects of the umbrella chart
// (HTTPRoutes, the Gateway for gatewayClassName) and reads the routes' status.
func (r *BookstoreReconciler) reconcileRoutes(ctx context.Context, p *pass) error {
	p.obs.routes = routeState{enabled: p.b.Spec.GatewayAPI.Enabled}
	if !p.b.Spec.GatewayAPI.Enabled {
		return nil
	}
	if !r.GatewayAPI {
		p.obs.routes.missing = true
		return nil
	}
	objs, err := render.Chart(ctx, "bookstore", p.b.Name, p.b.Namespace, render.GatewayAPIValues(p.b))
	if err != nil {
		return err
	}
	for _, u := range objs {
		if _, err := r.applyOwned(ctx, p, u); err != nil {
			return err
		}
		if u.GetKind() != "HTTPRoute" {
			continue
		}
		// The route's status comes from the cache, which does not hold a route
		// this pass just created: that one has no status yet (its creation
		// event brings another pass), which is no failure.
		live := &gatewayv1.HTTPRoute{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: p.b.Namespace, Name: u.GetName()}, live); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return fmt.Errorf("read HTTPRoute %s: %w", u.GetName(), err)
		}
		for _, ps := range live.Status.Parents {
			p.obs.routes.parents++
			for _, t := range []string{string(gatewayv1.RouteConditionAccepted), string(gatewayv1.RouteConditionResolvedRefs)} {
				if c := meta.FindStatusCondition(ps.Conditions, t); c != nil && c.Status == metav1.ConditionFalse {
					p.obs.routes.refused = append(p.obs.routes.refused,
						fmt.Sprintf("%s by Gateway %s: %s %s: %s", live.Name, ps.ParentRef.Name, t, c.Reason, c.Message))
				}
			}
		}
	}
	return nil
}

// setRoutesCondition sets RoutesAccepted from what reconcileRoutes saw (and
// removes it with spec.gatewayAPI off). Ready never depends on it.
func setRoutesCondition(st *v1alpha1.BookstoreStatus, gen int64, rs routeState) {
	c := metav1.Condition{Type: v1alpha1.ConditionRoutesAccepted, ObservedGeneration: gen}
	switch {
	case !rs.enabled:
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionRoutesAccepted)
		return
	case rs.missing:
		c.Status, c.Reason = metav1.ConditionFalse, "GatewayAPIMissing"
		c.Message = "spec.gatewayAPI is enabled but the cluster has no Gateway API CRDs (gateway.networking.k8s.io/v1): no HTTPRoute was created; install them and restart the operator"
	case len(rs.refused) > 0:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, "RouteRefused", strings.Join(rs.refused, "; ")
	case rs.parents == 0:
		c.Status, c.Reason = metav1.ConditionUnknown, "NoRouteStatus"
		c.Message = "the HTTPRoutes are applied; the Gateway's controller reports no status for them (yet)"
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, "Accepted", "every parent Gateway accepted the HTTPRoutes and resolved their backends"
	}
	meta.SetStatusCondition(&st.Conditions, c)
}

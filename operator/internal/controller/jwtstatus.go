package controller

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// Reasons of the JWTKeyRotated condition besides the phases (render.RotationPhase).
const (
	reasonRotated      = "Rotated"
	reasonUserSupplied = "UserSuppliedKeys"
)

// setRotationCondition sets JWTKeyRotated from what the JWT key step saw:
// absent until a rotation is requested, False with the phase as reason while
// one runs, True once done; False/UserSuppliedKeys when the keys are the
// user's (not rotated by the operator). Ready does not depend on it.
func setRotationCondition(st *v1alpha1.BookstoreStatus, gen int64, o rotation) {
	set := func(ok bool, reason, msg string) {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionJWTKeyRotated, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	if o.userSupplied != "" {
		if o.request == "" {
			meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionJWTKeyRotated)
			return
		}
		set(false, reasonUserSupplied, fmt.Sprintf("request %q not handled: the JWT keys come from Secret %s (spec.auth.jwtSecretName) and the operator does not rotate them (docs/security.md: rotating user-supplied keys)", o.request, o.userSupplied))
		return
	}
	if o.state.Handled == "" && o.request == "" {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionJWTKeyRotated)
		return
	}
	waiting := "every service"
	if len(o.waiting) > 0 && len(o.waiting) < len(render.Services()) {
		waiting = strings.Join(o.waiting, ", ")
	}
	h := fmt.Sprintf("rotation %q: ", o.state.Handled)
	var msg string
	switch o.state.Phase {
	case render.RotationIdle:
		set(true, reasonRotated, h+"done: key "+o.signing+" signs and is the only verification key")
		return
	case render.RotationAddingKey:
		msg = fmt.Sprintf("key %s joins the verification set (%s); %s keeps signing; waiting for %s to roll out with it", o.verify[len(o.verify)-1], strings.Join(o.verify, ", "), o.signing, waiting)
	case render.RotationSwitchingSigner:
		msg = fmt.Sprintf("key %s signs; waiting for %s to roll out with it", o.signing, render.SigningService)
	case render.RotationRetiringOldKey:
		msg = fmt.Sprintf("key %s signs; the old key verifies until %s", o.signing, o.state.RetireAfter.UTC().Format(time.RFC3339))
	case render.RotationRemovingOldKey:
		msg = fmt.Sprintf("the old key left the verification set; waiting for %s to roll out without it", waiting)
	}
	if o.state.Queued(o.request) {
		msg += "; " + queuedNote(o.request) + " until this rotation ends"
	}
	set(false, string(o.state.Phase), h+msg)
}

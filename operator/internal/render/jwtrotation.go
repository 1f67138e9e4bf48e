package render

import (
	"fmt"
	"time"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// RotateJWTKeyAnnotation on a Bookstore requests a rotation of the generated
// JWT signing key: every new value is one request, handled once.
const RotateJWTKeyAnnotation = "bookstore.dev/rotate-jwt-key"

// Annotations of the JWT Secret recording the rotation (written together
// with the keys, so state and keys never disagree).
const (
	// RotationHandledAnnotation: the request value last started.
	RotationHandledAnnotation = "bookstore.dev/jwt-rotation-handled"
	// RotationPhaseAnnotation: the phase a rotation is in; absent when none runs.
	RotationPhaseAnnotation = "bookstore.dev/jwt-rotation-phase"
	// RotationRetireAfterAnnotation: RFC 3339 time from which the old key may go.
	RotationRetireAfterAnnotation = "bookstore.dev/jwt-rotation-retire-after"
	// RotationLifetimeAnnotation: the token lifetime when the rotation started
	// (a TTL lowered during it must not cut the old tokens short).
	RotationLifetimeAnnotation = "bookstore.dev/jwt-rotation-token-lifetime"
)

// RotationPhase is where a rotation is; each is also the reason of the
// JWTKeyRotated condition while it lasts.
type RotationPhase string

// The phases, in order.
const (
	RotationIdle RotationPhase = ""
	// RotationAddingKey: the new public key is in the verification set; waiting
	// for every service to roll out with it.
	RotationAddingKey RotationPhase = "AddingVerificationKey"
	// RotationSwitchingSigner: the new key signs; waiting for the signing
	// service to roll out (no pod signs with the old key any more).
	RotationSwitchingSigner RotationPhase = "SwitchingSigningKey"
	// RotationRetiringOldKey: waiting for the last token signed with the old
	// key to expire (longest TTL + leeway).
	RotationRetiringOldKey RotationPhase = "RetiringOldKey"
	// RotationRemovingOldKey: the old key left the verification set; waiting
	// for every service to roll out without it.
	RotationRemovingOldKey RotationPhase = "RemovingOldKey"
)

// JWTRotation is the rotation state kept on the JWT Secret.
type JWTRotation struct {
	Handled     string
	Phase       RotationPhase
	RetireAfter time.Time     // zero but in RotationRetiringOldKey
	Lifetime    time.Duration // TokenLifetime when the rotation started
}

// RetireWait is how long the old key must still verify once nobody signs
// with it: the longer of the token lifetime now and at the start.
func (r JWTRotation) RetireWait(b *v1alpha1.Bookstore) time.Duration {
	return max(TokenLifetime(b), r.Lifetime)
}

// RotationFromAnnotations reads the rotation state of the JWT Secret. An
// unreadable retire time reads as zero: the wait starts again (safe side).
func RotationFromAnnotations(ann map[string]string) (JWTRotation, error) {
	r := JWTRotation{Handled: ann[RotationHandledAnnotation], Phase: RotationPhase(ann[RotationPhaseAnnotation])}
	switch r.Phase {
	case RotationIdle, RotationAddingKey, RotationSwitchingSigner, RotationRetiringOldKey, RotationRemovingOldKey:
	default:
		return JWTRotation{}, fmt.Errorf("annotation %s: unknown phase %q", RotationPhaseAnnotation, r.Phase)
	}
	if v := ann[RotationRetireAfterAnnotation]; v != "" {
		r.RetireAfter, _ = time.Parse(time.RFC3339, v)
	}
	if v := ann[RotationLifetimeAnnotation]; v != "" {
		r.Lifetime, _ = time.ParseDuration(v) // unreadable: the lifetime now counts
	}
	return r, nil
}

// SetAnnotations writes r into ann (annotations of the JWT Secret).
func (r JWTRotation) SetAnnotations(ann map[string]string) {
	set := func(k, v string) {
		if v == "" {
			delete(ann, k)
		} else {
			ann[k] = v
		}
	}
	set(RotationHandledAnnotation, r.Handled)
	set(RotationPhaseAnnotation, string(r.Phase))
	retire := ""
	if !r.RetireAfter.IsZero() {
		retire = r.RetireAfter.UTC().Format(time.RFC3339)
	}
	set(RotationRetireAfterAnnotation, retire)
	lifetime := ""
	if r.Lifetime > 0 {
		lifetime = r.Lifetime.String()
	}
	set(RotationLifetimeAnnotation, lifetime)
}

// RotationStep is what a reconcile does about the JWT keys.
type RotationStep string

// The steps; each but RotationNone and RotationWait writes the Secret.
const (
	RotationNone           RotationStep = "None"
	RotationWait           RotationStep = "Wait"
	RotationStart          RotationStep = "Start"          // idle -> AddingKey
	RotationSwitch         RotationStep = "Switch"         // AddingKey -> SwitchingSigner
	RotationScheduleRetire RotationStep = "ScheduleRetire" // SwitchingSigner -> RetiringOldKey
	RotationRetire         RotationStep = "Retire"         // RetiringOldKey -> RemovingOldKey
	RotationFinish         RotationStep = "Finish"         // RemovingOldKey -> idle
)

// NextRotationStep decides the step for request (the Bookstore's
// annotation), state st and whether every service runs the current key set
// (rolledOut); requeue is how long to wait before the time-driven step.
func NextRotationStep(request string, st JWTRotation, rolledOut bool, now time.Time) (step RotationStep, requeue time.Duration) {
	switch st.Phase {
	case RotationIdle:
		if request != "" && request != st.Handled {
			return RotationStart, 0
		}
		return RotationNone, 0
	case RotationAddingKey, RotationSwitchingSigner, RotationRemovingOldKey:
		if !rolledOut {
			return RotationWait, 0 // the Deployments' status changes trigger the next reconcile
		}
		return map[RotationPhase]RotationStep{
			RotationAddingKey: RotationSwitch, RotationSwitchingSigner: RotationScheduleRetire, RotationRemovingOldKey: RotationFinish,
		}[st.Phase], 0
	case RotationRetiringOldKey:
		if st.RetireAfter.IsZero() {
			return RotationScheduleRetire, 0
		}
		if left := st.RetireAfter.Sub(now); left > 0 {
			return RotationWait, left
		}
		return RotationRetire, 0
	}
	return RotationNone, 0
}

// Queued reports whether request waits for the rotation in progress.
func (r JWTRotation) Queued(request string) bool {
	return r.Phase != RotationIdle && request != "" && request != r.Handled
}

// JWTLeeway is the clock skew the services tolerate on exp (auth.Leeway,
// TestJWTConstantsMatchServices).
const JWTLeeway = 5 * time.Second

// DefaultJWTTTL is the user service's token lifetime when BOOKSTORE_JWT_TTL
// is not set (config.Load's default, TestJWTConstantsMatchServices).
const DefaultJWTTTL = 15 * time.Minute

// unknownTTLWait is how long the old key stays when the TTL comes from a
// Secret or ConfigMap (valueFrom) the operator does not read.
const unknownTTLWait = 24 * time.Hour

// TokenLifetime is how long a token signed now may still be accepted: the
// user service's BOOKSTORE_JWT_TTL (spec.services.user.env) plus the leeway.
func TokenLifetime(b *v1alpha1.Bookstore) time.Duration {
	ttl := DefaultJWTTTL
	for _, e := range b.Spec.Services.For(SigningService).Env {
		if e.Name != "BOOKSTORE_JWT_TTL" {
			continue
		}
		if e.ValueFrom != nil {
			return unknownTTLWait
		}
		if d, err := time.ParseDuration(e.Value); err == nil && d > 0 {
			ttl = d
		}
	}
	return ttl + JWTLeeway
}

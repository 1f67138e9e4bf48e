package controller

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// TestRotationCondition: JWTKeyRotated for every phase, a queued request and
// user-supplied keys; Ready is computed without it.
func TestRotationCondition(t *testing.T) {
	kids := []string{"oldkid", "newkid"}
	retire := time.Date(2026, 12, 1, 12, 15, 5, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		o        rotation
		want     string // status/reason, "" when absent
		mentions []string
	}{
		{"never requested", rotation{}, "", nil},
		{"keys generated with a request", rotation{request: "r1", state: render.JWTRotation{Handled: "r1"}, signing: "k"}, "True/Rotated", []string{`"r1"`}},
		{"adding", rotation{request: "r1", state: render.JWTRotation{Handled: "r1", Phase: render.RotationAddingKey}, signing: "oldkid", verify: kids, waiting: []string{"order"}},
			"False/AddingVerificationKey", []string{"newkid joins", "oldkid keeps signing", "order to roll out"}},
		{"adding, all waited for", rotation{request: "r1", state: render.JWTRotation{Handled: "r1", Phase: render.RotationAddingKey}, signing: "oldkid", verify: kids, waiting: render.Services()},
			"False/AddingVerificationKey", []string{"every service"}},
		{"switching, r2 queued", rotation{request: "r2", state: render.JWTRotation{Handled: "r1", Phase: render.RotationSwitchingSigner}, signing: "newkid", verify: kids},
			"False/SwitchingSigningKey", []string{"newkid signs", `request "r2" queued`}},
		{"retiring", rotation{request: "r1", state: render.JWTRotation{Handled: "r1", Phase: render.RotationRetiringOldKey, RetireAfter: retire}, signing: "newkid", verify: kids},
			"False/RetiringOldKey", []string{"2026-12-01T12:15:05Z"}},
		{"removing", rotation{request: "r1", state: render.JWTRotation{Handled: "r1", Phase: render.RotationRemovingOldKey}, signing: "newkid", verify: kids[1:]},
			"False/RemovingOldKey", []string{"left the verification set"}},
		{"done", rotation{request: "r1", state: render.JWTRotation{Handled: "r1"}, signing: "newkid", verify: kids[1:]}, "True/Rotated", []string{"newkid signs"}},
		{"user-supplied, no request", rotation{userSupplied: "mykeys"}, "", nil},
		{"user-supplied, requested", rotation{userSupplied: "mykeys", request: "r1"}, "False/UserSuppliedKeys", []string{"mykeys", "does not rotate"}},
	} {
		b := &v1alpha1.Bookstore{}
		_, avail := services(migrationSucceeded, true)
		st := computeStatus(b, observed{infraReady: true, components: infra(true), services: avail, rotation: tc.o})
		c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionJWTKeyRotated)
		got := ""
		if c != nil {
			got = string(c.Status) + "/" + c.Reason
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
			continue
		}
		for _, m := range tc.mentions {
			if !strings.Contains(c.Message, m) {
				t.Errorf("%s: message %q does not mention %q", tc.name, c.Message, m)
			}
		}
		if !meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady) {
			t.Errorf("%s: Ready is not True", tc.name)
		}
	}
}

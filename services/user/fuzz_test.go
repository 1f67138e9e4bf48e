package user_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
)

// Request-decoder fuzz targets of the user service, against the real
// service on the test servers (hack/fuzz.sh runs each for a few seconds;
// plain go test runs the seeds and testdata/fuzz). Any input answers 2xx or
// a JSON 4xx, never 5xx; a body register accepts can log in.

func credentialSeeds(f *testing.F) {
	apptest.Seeds(f, apptest.HostileBodies...)
	apptest.Seeds(f,
		map[string]string{"email": "ann@example.com", "password": "ann-password"},
		map[string]string{"email": adminEmail, "password": adminPassword},
		map[string]string{"email": "ADMIN@bookstore.test", "password": "x"},
		map[string]string{"email": "a@b.c", "password": strings.Repeat("é", 40)},
		map[string]string{"email": "\u0000@example.com", "password": "pass\u0000word"},
		map[string]string{"email": "robert'); DROP TABLE users;--@example.com", "password": "' OR '1'='1"},
		map[string]any{"email": 1, "password": true},
		`{"email":"a@b.c","password":"12345678","role":"admin"}`,
	)
}

func FuzzRegister(f *testing.F) {
	credentialSeeds(f)
	fx := start(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fx.srv.FuzzBody(t, http.MethodPost, "/api/users/register", "", body)
		if r.Status != http.StatusCreated {
			return
		}
		var in struct{ Email, Password string }
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("register accepted a body that is not JSON credentials: %q", body)
		}
		var out struct{ Email, UserID string }
		r.JSON(t, &out)
		if out.Email != strings.TrimSpace(in.Email) {
			t.Fatalf("registered e-mail %q, sent %q", out.Email, in.Email)
		}
		// What was accepted is stored verbatim: it logs in as the new user.
		login := fx.srv.Post(t, "/api/users/login", "", map[string]string{"email": in.Email, "password": in.Password})
		if login.Status != http.StatusOK {
			t.Fatalf("registered %q cannot log in: %d %s", in.Email, login.Status, login.Body)
		}
	})
}

func FuzzLogin(f *testing.F) {
	credentialSeeds(f)
	fx := start(f)
	fx.register(f, "ann@example.com", "ann-password")
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fx.srv.FuzzBody(t, http.MethodPost, "/api/users/login", "", body)
		if !apptest.StatusIs(r, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge) {
			t.Fatalf("login answered %d: %s", r.Status, r.Body)
		}
	})
}

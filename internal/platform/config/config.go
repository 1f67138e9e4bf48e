// Package config loads and validates the runtime configuration of a Bookstore
// service from environment variables (see docs/architecture.md, "Runtime
// contract"). Every value has a default suitable for `make dev` except the JWT
// keys; a malformed value is reported by Load, at start, never later.
package config

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
)

// Kafka holds the Kafka connection settings. With a SASL user the protocol
// defaults to SASL_PLAINTEXT and the mechanism to SCRAM-SHA-512 (every
// Bookstore deployment authenticates each service with its own user,
// docs/security.md).
type Kafka struct {
	Brokers          []string
	SecurityProtocol string
	SASLMechanism    string
	SASLUsername     string
	SASLPassword     string
	TopicPartitions  int
	TopicReplication int
}

// Config is the validated configuration of one service process.
type Config struct {
	Service  string
	HTTPAddr string
	// DocsPrefix is where the service serves its Swagger UI and OpenAPI
	// document (BOOKSTORE_DOCS_PREFIX, default /docs/<service>): the path the
	// entry points route to it unchanged (charts/bookstore/routes.yaml).
	DocsPrefix  string
	DatabaseURL string
	RedisURL    string
	Kafka       Kafka
	LogLevel    slog.Level
	// ShutdownDelay: after SIGTERM, /readyz answers 503 while the server
	// keeps serving for this long (load balancers and kube-proxy stop
	// sending new requests), then it closes the listener.
	ShutdownDelay time.Duration
	// ShutdownTimeout is the budget of everything after the delay: draining
	// in-flight requests, then stopping the workers (consumers commit what
	// they applied), then closing. The orchestrator's grace period must
	// exceed ShutdownDelay + ShutdownTimeout.
	ShutdownTimeout time.Duration

	// JWTPublicKey verifies tokens (all services): the signing key's public
	// key in the user service, else the first key of the bundle. Nil when not
	// configured; RequireServe reports that.
	JWTPublicKey ed25519.PublicKey
	// JWTPublicKeys is the whole key set of BOOKSTORE_JWT_PUBLIC_KEY (one or
	// more PEM blocks): during a rotation the new key and the old ones.
	JWTPublicKeys []ed25519.PublicKey
	// JWTPrivateKey signs tokens (user service only).
	JWTPrivateKey ed25519.PrivateKey
	// JWTAudience, when set, is put in aud and required of every token.
	JWTAudience string
	JWTTTL      time.Duration

	// AdminEmail and AdminPassword: the admin account ensured by the user service.
	AdminEmail    string
	AdminPassword string
	// AdminPromoteExisting lets the admin bootstrap promote an account that
	// was registered with the admin e-mail (BOOKSTORE_ADMIN_PROMOTE_EXISTING).
	AdminPromoteExisting bool

	// DedupRetention: inbox and Idempotency-Key rows older than this are
	// purged (internal/platform/retention).
	DedupRetention time.Duration

	// OrderDeadline: the order service fails an order still Pending this
	// long after it was placed (and compensates it).
	OrderDeadline time.Duration

	// InventoryURL is the base URL the order service uses to look up book prices.
	InventoryURL string

	// Limits bound login and register (user service).
	Limits Limits
}

// FromEnv is Load with os.Getenv.
func FromEnv(service string) (Config, error) { return Load(service, os.Getenv) }

// Load reads the configuration of service through getenv and validates every
// value that is set. It does not require the values only the server needs
// (keys); call RequireServe for that.
func Load(service string, getenv func(string) string) (Config, error) {
	if DevPort(service) == 0 {
		return Config{}, fmt.Errorf("config: unknown service %q", service)
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Service:       service,
		HTTPAddr:      get("BOOKSTORE_HTTP_ADDR", ":8080"),
		DocsPrefix:    get("BOOKSTORE_DOCS_PREFIX", "/docs/"+service),
		DatabaseURL:   get("BOOKSTORE_DATABASE_URL", fmt.Sprintf("postgres://postgres@127.0.0.1:54432/bookstore_%s?sslmode=disable", service)),
		RedisURL:      get("BOOKSTORE_REDIS_URL", "redis://127.0.0.1:54379/0"),
		AdminEmail:    get("BOOKSTORE_ADMIN_EMAIL", ""),
		AdminPassword: getenv("BOOKSTORE_ADMIN_PASSWORD"),
		InventoryURL:  strings.TrimRight(get("BOOKSTORE_INVENTORY_URL", "http://127.0.0.1:8093"), "/"),
		Kafka: Kafka{
			SecurityProtocol: get("BOOKSTORE_KAFKA_SECURITY_PROTOCOL", ""),
			SASLMechanism:    get("BOOKSTORE_KAFKA_SASL_MECHANISM", ""),
			SASLUsername:     get("BOOKSTORE_KAFKA_SASL_USERNAME", ""),
		},
	}
	var errs []error
	bad := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", name, err)) }

	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("BOOKSTORE_HTTP_ADDR", err)
	}
	if !strings.HasPrefix(c.DocsPrefix, "/") || strings.HasSuffix(c.DocsPrefix, "/") || strings.ContainsAny(c.DocsPrefix, "?#{}") {
		bad("BOOKSTORE_DOCS_PREFIX", errors.New("want an absolute path without a trailing slash, like /docs/"+service))
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil {
		bad("BOOKSTORE_DATABASE_URL", errors.New("not a URL"))
	} else if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		bad("BOOKSTORE_DATABASE_URL", fmt.Errorf("scheme %q, want postgres://", u.Scheme))
	}
	if u, err := url.Parse(c.RedisURL); err != nil {
		bad("BOOKSTORE_REDIS_URL", errors.New("not a URL"))
	} else if u.Scheme != "redis" && u.Scheme != "rediss" {
		bad("BOOKSTORE_REDIS_URL", fmt.Errorf("scheme %q, want redis:// or rediss://", u.Scheme))
	}
	if u, err := url.Parse(c.InventoryURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("BOOKSTORE_INVENTORY_URL", errors.New("want an absolute http(s) URL"))
	}
	for _, b := range strings.Split(get("BOOKSTORE_KAFKA_BROKERS", "127.0.0.1:54092"), ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(b); err != nil {
			bad("BOOKSTORE_KAFKA_BROKERS", err)
		}
		c.Kafka.Brokers = append(c.Kafka.Brokers, b)
	}
	if b, name, err := pemValue(getenv, "BOOKSTORE_KAFKA_SASL_PASSWORD"); err != nil {
		bad(name, err)
	} else if b != nil {
		c.Kafka.SASLPassword = strings.TrimRight(string(b), "\r\n")
	}
	if k := &c.Kafka; k.SASLUsername != "" {
		if k.SASLPassword == "" {
			bad("BOOKSTORE_KAFKA_SASL_PASSWORD", errors.New("empty while BOOKSTORE_KAFKA_SASL_USERNAME is set"))
		}
		k.SecurityProtocol = cmp.Or(k.SecurityProtocol, "SASL_PLAINTEXT")
		k.SASLMechanism = cmp.Or(k.SASLMechanism, "SCRAM-SHA-512")
	}
	c.Limits = loadLimits(get, bad)
	var err error
	if c.Kafka.TopicPartitions, err = positiveInt(get("BOOKSTORE_KAFKA_TOPIC_PARTITIONS", "3")); err != nil {
		bad("BOOKSTORE_KAFKA_TOPIC_PARTITIONS", err)
	}
	if c.Kafka.TopicReplication, err = positiveInt(get("BOOKSTORE_KAFKA_TOPIC_REPLICATION", "1")); err != nil {
		bad("BOOKSTORE_KAFKA_TOPIC_REPLICATION", err)
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("BOOKSTORE_LOG_LEVEL", "info"))); err != nil {
		bad("BOOKSTORE_LOG_LEVEL", err)
	}
	if c.ShutdownDelay, err = time.ParseDuration(get("BOOKSTORE_SHUTDOWN_DELAY", "5s")); err != nil || c.ShutdownDelay < 0 {
		bad("BOOKSTORE_SHUTDOWN_DELAY", fmt.Errorf("not a duration >= 0: %q", get("BOOKSTORE_SHUTDOWN_DELAY", "5s")))
	}
	if c.ShutdownTimeout, err = positiveDuration(get("BOOKSTORE_SHUTDOWN_TIMEOUT", "20s")); err != nil {
		bad("BOOKSTORE_SHUTDOWN_TIMEOUT", err)
	}
	if c.DedupRetention, err = positiveDuration(get("BOOKSTORE_DEDUP_RETENTION", "192h")); err != nil {
		bad("BOOKSTORE_DEDUP_RETENTION", err)
	} else if c.DedupRetention < 24*time.Hour {
		bad("BOOKSTORE_DEDUP_RETENTION", fmt.Errorf("%s is inside the 24h Idempotency-Key window", c.DedupRetention))
	}
	if c.OrderDeadline, err = positiveDuration(get("BOOKSTORE_ORDER_DEADLINE", "2m")); err != nil {
		bad("BOOKSTORE_ORDER_DEADLINE", err)
	}
	if c.JWTTTL, err = positiveDuration(get("BOOKSTORE_JWT_TTL", "15m")); err != nil {
		bad("BOOKSTORE_JWT_TTL", err)
	}
	if pemBytes, name, err := pemValue(getenv, "BOOKSTORE_JWT_PUBLIC_KEY"); err != nil {
		bad(name, err)
	} else if pemBytes != nil {
		if c.JWTPublicKeys, err = auth.ParsePublicKeysPEM(pemBytes); err != nil {
			bad(name, err)
		} else {
			c.JWTPublicKey = c.JWTPublicKeys[0]
		}
	}
	if pemBytes, name, err := pemValue(getenv, "BOOKSTORE_JWT_PRIVATE_KEY"); err != nil {
		bad(name, err)
	} else if pemBytes != nil {
		if c.JWTPrivateKey, err = auth.ParsePrivateKeyPEM(pemBytes); err != nil {
			bad(name, err)
		}
	}
	if c.JWTPublicKey == nil && c.JWTPrivateKey != nil {
		c.JWTPublicKey = c.JWTPrivateKey.Public().(ed25519.PublicKey)
	}
	if c.JWTPrivateKey != nil && len(c.JWTPublicKeys) > 0 {
		signing := c.JWTPrivateKey.Public().(ed25519.PublicKey)
		if !slices.ContainsFunc(c.JWTPublicKeys, func(k ed25519.PublicKey) bool { return signing.Equal(k) }) {
			bad("BOOKSTORE_JWT_PUBLIC_KEY", errors.New("does not hold the public key of BOOKSTORE_JWT_PRIVATE_KEY"))
		}
		c.JWTPublicKey = signing
	}
	c.JWTAudience = get("BOOKSTORE_JWT_AUDIENCE", "")
	switch v := get("BOOKSTORE_ADMIN_PROMOTE_EXISTING", "false"); v {
	case "true", "false":
		c.AdminPromoteExisting = v == "true"
	default:
		bad("BOOKSTORE_ADMIN_PROMOTE_EXISTING", fmt.Errorf("want true or false, got %q", v))
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		bad("BOOKSTORE_ADMIN_EMAIL", errors.New("BOOKSTORE_ADMIN_EMAIL and BOOKSTORE_ADMIN_PASSWORD must be set together"))
	}
	if c.AdminPassword != "" && len(c.AdminPassword) < 8 {
		bad("BOOKSTORE_ADMIN_PASSWORD", errors.New("shorter than 8 characters"))
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return c, nil
}

// VerifyKeys is the key set tokens are verified against.
func (c Config) VerifyKeys() []ed25519.PublicKey {
	if c.JWTPublicKey == nil {
		return c.JWTPublicKeys
	}
	return append([]ed25519.PublicKey{c.JWTPublicKey}, c.JWTPublicKeys...)
}

// RequireServe reports the settings that running the server needs and that
// are missing: the public key everywhere, the private key in the user service.
func (c Config) RequireServe() error {
	var errs []error
	if c.JWTPublicKey == nil {
		errs = append(errs, errors.New("BOOKSTORE_JWT_PUBLIC_KEY_FILE or BOOKSTORE_JWT_PUBLIC_KEY is required"))
	}
	if c.Service == "user" && c.JWTPrivateKey == nil {
		errs = append(errs, errors.New("BOOKSTORE_JWT_PRIVATE_KEY_FILE or BOOKSTORE_JWT_PRIVATE_KEY is required by the user service"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

// DevPort is the port the service listens on under `make dev`, 0 for an
// unknown service name.
func DevPort(service string) int {
	switch service {
	case "user":
		return 8091
	case "token":
		return 8092
	case "inventory":
		return 8093
	case "order":
		return 8094
	}
	return 0
}

func pemValue(getenv func(string) string, name string) ([]byte, string, error) {
	if f := strings.TrimSpace(getenv(name + "_FILE")); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, name + "_FILE", fmt.Errorf("read key: %w", err)
		}
		return b, name + "_FILE", nil
	}
	if v := getenv(name); strings.TrimSpace(v) != "" {
		return []byte(v), name, nil
	}
	return nil, name, nil
}

func positiveInt(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %q", s)
	}
	if n <= 0 {
		return 0, fmt.Errorf("must be positive, got %d", n)
	}
	return n, nil
}

func positiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration: %q", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive, got %s", s)
	}
	return d, nil
}

// LogValue leaves the SASL password out of every log line.
func (k Kafka) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("brokers", k.Brokers),
		slog.String("security_protocol", k.SecurityProtocol),
		slog.String("sasl_mechanism", k.SASLMechanism),
		slog.String("sasl_username", k.SASLUsername),
	)
}

package config_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := config.Load("order", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.JWTTTL != 15*time.Minute || c.ShutdownTimeout != 20*time.Second ||
		c.InventoryURL != "http://127.0.0.1:8093" || len(c.Kafka.Brokers) != 1 || c.Kafka.TopicPartitions != 3 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if err := c.RequireServe(); err == nil || !strings.Contains(err.Error(), "BOOKSTORE_JWT_PUBLIC_KEY") {
		t.Fatalf("RequireServe without keys = %v, want an error naming the public key", err)
	}
}

func TestInvalidValuesAreReportedByName(t *testing.T) {
	tests := []struct{ name, value string }{
		{"BOOKSTORE_HTTP_ADDR", "8080"},
		{"BOOKSTORE_DATABASE_URL", "mysql://x/y"},
		{"BOOKSTORE_REDIS_URL", "http://localhost:6379"},
		{"BOOKSTORE_KAFKA_BROKERS", "localhost"},
		{"BOOKSTORE_KAFKA_TOPIC_PARTITIONS", "0"},
		{"BOOKSTORE_KAFKA_TOPIC_REPLICATION", "three"},
		{"BOOKSTORE_LOG_LEVEL", "chatty"},
		{"BOOKSTORE_SHUTDOWN_TIMEOUT", "20"},
		{"BOOKSTORE_SHUTDOWN_DELAY", "-1s"},
		{"BOOKSTORE_JWT_TTL", "-1m"},
		{"BOOKSTORE_JWT_PUBLIC_KEY", "not a pem"},
		{"BOOKSTORE_JWT_PRIVATE_KEY_FILE", "/no/such/file"},
		{"BOOKSTORE_INVENTORY_URL", "inventory:8080"},
		{"BOOKSTORE_ADMIN_EMAIL", "admin@example.com"}, // without a password
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load("user", env(map[string]string{tc.name: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("error %v, want one naming %s", err, tc.name)
			}
		})
	}
	if _, err := config.Load("shipping", env(nil)); err == nil {
		t.Fatal("unknown service accepted")
	}
}

func TestKeysFromFileAndEnv(t *testing.T) {
	privPEM, pubPEM, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	privFile := filepath.Join(dir, "jwt.key")
	if err := os.WriteFile(privFile, privPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load("user", env(map[string]string{
		"BOOKSTORE_JWT_PRIVATE_KEY_FILE": privFile,
		"BOOKSTORE_JWT_PUBLIC_KEY":       string(pubPEM),
		"BOOKSTORE_ADMIN_EMAIL":          "admin@example.com",
		"BOOKSTORE_ADMIN_PASSWORD":       "change-me-now",
		"BOOKSTORE_KAFKA_BROKERS":        "a:9092, b:9092",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RequireServe(); err != nil {
		t.Fatal(err)
	}
	if !c.JWTPublicKey.Equal(c.JWTPrivateKey.Public()) || len(c.Kafka.Brokers) != 2 {
		t.Fatalf("keys or brokers not loaded: %+v", c.Kafka)
	}
	// A public key that does not belong to the private key is an error.
	_, otherPub, _ := auth.GenerateKey()
	_, err = config.Load("user", env(map[string]string{
		"BOOKSTORE_JWT_PRIVATE_KEY_FILE": privFile,
		"BOOKSTORE_JWT_PUBLIC_KEY":       string(otherPub),
	}))
	if err == nil {
		t.Fatal("mismatched key pair accepted")
	}
	// The user service needs the private key; the others do not.
	u, _ := config.Load("user", env(map[string]string{"BOOKSTORE_JWT_PUBLIC_KEY": string(pubPEM)}))
	if err := u.RequireServe(); err == nil {
		t.Fatal("user service without private key passed RequireServe")
	}
	tk, _ := config.Load("token", env(map[string]string{"BOOKSTORE_JWT_PUBLIC_KEY": string(pubPEM)}))
	if err := tk.RequireServe(); err != nil {
		t.Fatal(err)
	}
}

func TestKafkaSASL(t *testing.T) {
	c, err := config.Load("order", env(map[string]string{
		"BOOKSTORE_KAFKA_SASL_USERNAME": "order",
		"BOOKSTORE_KAFKA_SASL_PASSWORD": "s3cret-kafka-password",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.SecurityProtocol != "SASL_PLAINTEXT" || c.Kafka.SASLMechanism != "SCRAM-SHA-512" {
		t.Fatalf("defaults with a SASL user: %q %q", c.Kafka.SecurityProtocol, c.Kafka.SASLMechanism)
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "kafka", c.Kafka)
	if strings.Contains(buf.String(), "s3cret-kafka-password") || !strings.Contains(buf.String(), `"sasl_username":"order"`) {
		t.Fatalf("log line: %s", buf.String())
	}
	if _, err := config.Load("order", env(map[string]string{"BOOKSTORE_KAFKA_SASL_USERNAME": "order"})); err == nil ||
		!strings.Contains(err.Error(), "BOOKSTORE_KAFKA_SASL_PASSWORD") {
		t.Fatalf("a user without password: %v", err)
	}
	// The password from a file (a mounted Secret or compose volume).
	f := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(f, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = config.Load("order", env(map[string]string{"BOOKSTORE_KAFKA_SASL_USERNAME": "order", "BOOKSTORE_KAFKA_SASL_PASSWORD_FILE": f}))
	if err != nil || c.Kafka.SASLPassword != "from-a-file" {
		t.Fatalf("password from a file: %q %v", c.Kafka.SASLPassword, err)
	}
	// Without a user nothing changes (PLAINTEXT; external Kafka may set SSL alone).
	c, err = config.Load("order", env(map[string]string{"BOOKSTORE_KAFKA_SECURITY_PROTOCOL": "SSL"}))
	if err != nil || c.Kafka.SecurityProtocol != "SSL" || c.Kafka.SASLMechanism != "" {
		t.Fatalf("SSL only: %+v %v", c.Kafka, err)
	}
}

package testenv

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Images used when the servers come from Docker (a developer's laptop).
const (
	postgresImage = "postgres:15-alpine"
	redisImage    = "redis:7-alpine"
	kafkaImage    = "apache/kafka:4.1.1"
)

// Containers are started at most once per test binary and reaped by testcontainers' Ryuk
// when the binary exits.
var (
	dockerUp     shared[bool]
	pgContainer  shared[string]
	rdContainer  shared[string]
	kfkContainer shared[string]
)

// dockerAvailable reports whether a Docker engine answers.
func dockerAvailable() bool {
	ok, _ := dockerUp.get(func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		p, err := testcontainers.ProviderDocker.GetProvider()
		if err != nil {
			return false, err
		}
		defer p.Close()
		return p.Health(ctx) == nil, nil
	})
	return ok
}

func startPostgresContainer(ctx context.Context) (string, error) {
	c, err := tcpostgres.Run(ctx, postgresImage,
		tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		tcpostgres.WithDatabase("postgres"), tcpostgres.BasicWaitStrategies())
	if err != nil {
		return "", fmt.Errorf("starting %s: %w", postgresImage, err)
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}

func startRedisContainer(ctx context.Context) (string, error) {
	c, err := tcredis.Run(ctx, redisImage)
	if err != nil {
		return "", fmt.Errorf("starting %s: %w", redisImage, err)
	}
	ep, err := c.Endpoint(ctx, "")
	if err != nil {
		return "", fmt.Errorf("redis endpoint: %w", err)
	}
	return ep, nil
}

// startKafkaContainer runs a single KRaft broker. Kafka must advertise the address clients
// dial, so the host port is chosen first and bound explicitly.
func startKafkaContainer(ctx context.Context) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	hostPort := strconv.Itoa(port)
	_, err = testcontainers.Run(ctx, kafkaImage,
		testcontainers.WithExposedPorts("9092/tcp"),
		testcontainers.WithEnv(map[string]string{
			"KAFKA_NODE_ID":                                  "1",
			"KAFKA_PROCESS_ROLES":                            "broker,controller",
			"KAFKA_LISTENERS":                                "PLAINTEXT://:9092,CONTROLLER://:9093",
			"KAFKA_ADVERTISED_LISTENERS":                     "PLAINTEXT://127.0.0.1:" + hostPort,
			"KAFKA_CONTROLLER_LISTENER_NAMES":                "CONTROLLER",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":           "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
			"KAFKA_CONTROLLER_QUORUM_VOTERS":                 "1@localhost:9093",
			"KAFKA_AUTO_CREATE_TOPICS_ENABLE":                "false",
			"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "1",
			"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
			"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "1",
			"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":         "0",
		}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{
				network.MustParsePort("9092/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: hostPort}},
			}
		}),
		testcontainers.WithWaitStrategy(wait.ForLog("Kafka Server started").WithStartupTimeout(2*time.Minute)),
	)
	if err != nil {
		return "", fmt.Errorf("starting %s: %w", kafkaImage, err)
	}
	return "127.0.0.1:" + hostPort, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

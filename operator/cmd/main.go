// Command bookstore-operator runs the controller reconciling Bookstore
// resources (bookstore.dev/v1alpha1), with leader election, Prometheus
// metrics and health probes.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/controller"
	"github.com/bookstore-platform/bookstore/operator/internal/metricsauth"
)

func main() {
	if err := run(ctrl.SetupSignalHandler(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bookstore-operator:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bookstore-operator", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default: in-cluster config, else $KUBECONFIG or ~/.kube/config)")
	metricsAddr := fs.String("metrics-bind-address", ":8080", "address of the Prometheus /metrics endpoint (0 disables it)")
	metricsSecure := fs.Bool("metrics-secure", true, "serve /metrics over HTTPS to clients the API server authenticates and authorizes (get on the nonResourceURL /metrics); false: plain HTTP, anyone")
	metricsCertDir := fs.String("metrics-cert-dir", "", "directory with tls.crt and tls.key for /metrics (default: a self-signed certificate in memory)")
	probeAddr := fs.String("health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	leaderElect := fs.Bool("leader-elect", true, "elect a leader so that only one replica reconciles")
	leaderNS := fs.String("leader-election-namespace", "", "namespace of the leader election Lease (default: the pod's namespace)")
	watchNS := fs.String("watch-namespaces", "", "comma-separated namespaces to watch (default: all)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("log level %q: %w", *logLevel, err)
	}
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return fmt.Errorf("scheme: %w", err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("scheme: %w", err)
	}
	if err := gatewayv1.Install(scheme); err != nil {
		return fmt.Errorf("scheme: %w", err)
	}

	opts := ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOptions(*metricsAddr, *metricsSecure, *metricsCertDir),
		HealthProbeBindAddress:        *probeAddr,
		LeaderElection:                *leaderElect,
		LeaderElectionID:              "bookstore-operator.bookstore.dev",
		LeaderElectionNamespace:       *leaderNS,
		LeaderElectionReleaseOnCancel: true,
		// The informers hold every Secret, ConfigMap, Service, Deployment, ...
		// the operator may read; managedFields are not needed in memory.
		// Secrets: only those the operator created (controller.SecretCacheOptions).
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: controller.SecretCacheOptions()},
	}
	if *watchNS != "" {
		opts.Cache.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range strings.Split(*watchNS, ",") {
			opts.Cache.DefaultNamespaces[strings.TrimSpace(ns)] = cache.Config{}
		}
	}
	var cfg *rest.Config
	var err error
	if *kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", *kubeconfig)
	} else {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return fmt.Errorf("kubernetes client config: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	// Without the Gateway API CRDs, routes stay off (RoutesAccepted=False on a
	// Bookstore asking for them); the operator must be restarted after installing them.
	gatewayAPI, err := controller.GatewayAPIInstalled(cfg)
	if err != nil {
		return err
	}
	log.Info("Gateway API", "installed", gatewayAPI)
	r := &controller.BookstoreReconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Scheme:     mgr.GetScheme(),
		Recorder:   mgr.GetEventRecorder("bookstore-operator"),
		GatewayAPI: gatewayAPI,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("healthz: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("readyz: %w", err)
	}
	log.Info("starting manager", "leaderElection", *leaderElect, "metrics", *metricsAddr, "metricsSecure", *metricsSecure, "probes", *probeAddr)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	return nil
}

// metricsOptions: as the kubebuilder scaffold, /metrics over HTTPS where every
// request's bearer token is checked with a TokenReview and its permission with
// a SubjectAccessReview (the metrics-reader ClusterRole grants it); a token
// the API server rejects is 401 (metricsauth).
func metricsOptions(addr string, secure bool, certDir string) metricsserver.Options {
	if !secure {
		return metricsserver.Options{BindAddress: addr}
	}
	return metricsserver.Options{
		BindAddress:    addr,
		SecureServing:  true,
		FilterProvider: metricsauth.Filter,
		CertDir:        certDir,
		// HTTP/1.1 only, as the scaffold (HTTP/2 Rapid Reset, CVE-2023-44487).
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
	}
}

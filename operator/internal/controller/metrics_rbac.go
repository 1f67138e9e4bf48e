package controller

// The operator's /metrics (--metrics-secure, the default) authenticates each
// scrape's bearer token with a TokenReview and authorizes it with a
// SubjectAccessReview (controller-runtime's metrics filters); a scraper needs
// the ClusterRole bookstore-operator-metrics-reader (manifests/rbac).

// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

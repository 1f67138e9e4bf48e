// Package v1alpha1 contains the API of the Bookstore operator: the Bookstore
// resource (bookstore.dev/v1alpha1).
//
// +kubebuilder:object:generate=true
// +groupName=bookstore.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// Group is the API group of the Bookstore resource.
	Group = "bookstore.dev"
	// Version is the API version of this package.
	Version = "v1alpha1"
	// Kind is the kind of the Bookstore resource.
	Kind = "Bookstore"
)

// GroupVersion returns bookstore.dev/v1alpha1.
func GroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: Group, Version: Version}
}

// AddToScheme registers Bookstore and BookstoreList with a scheme.
func AddToScheme(s *runtime.Scheme) error {
	gv := GroupVersion()
	s.AddKnownTypes(gv, &Bookstore{}, &BookstoreList{})
	metav1.AddToGroupVersion(s, gv)
	return nil
}

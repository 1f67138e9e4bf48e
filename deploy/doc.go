// Package deploy validates the ways of running Bookstore that cannot run on
// a machine without a container engine: docker-compose.yml (with
// compose-go, the loader of Docker Compose v2), kind-config.yaml and the
// kind scripts, and the Tiltfile (executed with go.starlark.net against
// stand-ins for Tilt's built-ins). Compose support files live in
// deploy/compose, the Tilt image in deploy/tilt.
package deploy

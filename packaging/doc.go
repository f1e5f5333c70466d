// Package packaging holds Liftoff's packaging beside its tests: the
// systemd unit and its environment file here, the Dockerfile, .dockerignore
// and docker-compose.yml at the repository's root. It has no code; its
// tests check statically what can be checked without building an image.
package packaging

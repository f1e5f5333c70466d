//go:build !linux

package container

// DetectUlimits returns none off Linux: podman's defaults stand.
func DetectUlimits() []string { return nil }

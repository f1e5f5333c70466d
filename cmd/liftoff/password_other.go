//go:build !linux

package main

import "io"

// readSecretLine reads one line from in. The commands that read passwords
// work on the server's store, on Linux only; elsewhere they refuse before
// they read.
func readSecretLine(in io.Reader, _ io.Writer, _ string) (string, bool, error) {
	line, err := readLine(in)
	return line, false, err
}

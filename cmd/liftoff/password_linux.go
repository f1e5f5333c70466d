package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readSecretLine reads one line from in. When in is a terminal it says
// prompt on out and does not echo what is typed.
func readSecretLine(in io.Reader, out io.Writer, prompt string) (string, bool, error) {
	f, ok := in.(*os.File)
	if !ok {
		line, err := readLine(in)
		return line, false, err
	}
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil { // not a terminal: a pipe or a file
		line, err := readLine(in)
		return line, false, err
	}
	_, _ = fmt.Fprint(out, prompt)
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", true, fmt.Errorf("turn off the terminal's echo: %w", err)
	}
	defer func() {
		_ = unix.IoctlSetTermios(fd, unix.TCSETS, old)
		_, _ = fmt.Fprintln(out)
	}()
	line, err := readLine(bufio.NewReader(f))
	return line, true, err
}

package gitsource

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// MaxFileSize is the largest file ReadFile returns.
const MaxFileSize = 1 << 20

// ReadFile returns the content of the file at path (relative to the
// repository root; a leading "./" or "/" is ignored) in revision rev.
// Symbolic links inside the repository are followed. Errors wrap
// ErrFileNotFound (no such file, a directory, a dangling link),
// ErrFileTooLarge (over MaxFileSize), ErrRevisionNotFound, ErrInvalidPath or
// ErrInvalidRevision.
func (m *Mirror) ReadFile(ctx context.Context, rev, filePath string) ([]byte, error) {
	if err := validateRev(rev); err != nil {
		return nil, err
	}
	p, err := cleanRepoPath(filePath)
	if err != nil {
		return nil, err
	}

	// One cat-file --batch process gives the type and size before the
	// content, so an oversized file is refused without reading it.
	procCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := []string{"cat-file", "--batch", "--follow-symlinks"}
	cmd, stderr := command(procCtx, m.dir, "", args...)
	cmd.Stdin = strings.NewReader(rev + ":" + p + "\n")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, newGitError(ctx, args, stderr.String(), err)
	}
	data, readErr := readBatchFile(bufio.NewReader(stdout))
	var missing *batchMissingError
	if readErr != nil && !errors.As(readErr, &missing) {
		cancel() // do not wait for git to write what will not be read
	}
	waitErr := cmd.Wait()
	switch {
	case missing != nil:
		// cat-file says "missing" for a bad revision as for a missing path.
		if _, err := m.ResolveCommit(ctx, rev); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s at %q in %s%s", ErrFileNotFound, p, rev, RedactURL(m.url), missing.detail)
	case errors.Is(readErr, ErrFileTooLarge):
		return nil, fmt.Errorf("%s at %q: %w", p, rev, readErr)
	case waitErr != nil:
		return nil, fmt.Errorf("reading %s at %q: %w", p, rev, newGitError(ctx, args, stderr.String(), waitErr))
	case readErr != nil:
		return nil, fmt.Errorf("reading %s at %q: %w", p, rev, readErr)
	}
	return data, nil
}

// batchMissingError is cat-file's answer when there is no file to return.
type batchMissingError struct{ detail string }

func (e *batchMissingError) Error() string { return "missing" + e.detail }

// readBatchFile reads one answer of git cat-file --batch --follow-symlinks.
func readBatchFile(r *bufio.Reader) ([]byte, error) {
	header, err := r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("reading git cat-file output: %w", err)
	}
	header = strings.TrimSuffix(header, "\n")
	f := strings.Fields(header)
	switch {
	case len(f) == 3 && f[1] == "blob":
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("unexpected git cat-file header %q", header)
		}
		if size > MaxFileSize {
			return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrFileTooLarge, size, MaxFileSize)
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("reading git cat-file output: %w", err)
		}
		return data, nil
	case len(f) == 3 && f[1] == "tree":
		return nil, &batchMissingError{detail: " (it is a directory)"}
	case len(f) == 3 && f[1] == "commit":
		return nil, &batchMissingError{detail: " (it is a submodule)"}
	case strings.HasSuffix(header, " missing"), strings.HasPrefix(header, "dangling "), strings.HasPrefix(header, "notdir "):
		detail := ""
		if f[0] == "dangling" {
			detail = " (a symbolic link to a missing file)"
		}
		return nil, &batchMissingError{detail: detail}
	case strings.HasPrefix(header, "loop "):
		return nil, &batchMissingError{detail: " (a symbolic link loop)"}
	case strings.HasPrefix(header, "symlink "):
		return nil, &batchMissingError{detail: " (a symbolic link pointing outside the repository)"}
	}
	return nil, fmt.Errorf("unexpected git cat-file header %q", header)
}

// cleanRepoPath turns a user's path into the repository-relative form git
// expects in rev:path.
func cleanRepoPath(p string) (string, error) {
	orig := p
	for {
		trimmed := strings.TrimPrefix(strings.TrimPrefix(p, "./"), "/")
		if trimmed == p {
			break
		}
		p = trimmed
	}
	if p != "" {
		p = path.Clean(p)
	}
	// A newline would end cat-file's request line (the -z form needs git 2.38).
	if p == "" || p == "." || p == ".." || strings.HasPrefix(p, "../") || hasControl(p) {
		return "", fmt.Errorf("%w %q: want a file path inside the repository", ErrInvalidPath, orig)
	}
	return p, nil
}

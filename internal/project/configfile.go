package project

import (
	"context"
	"errors"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/gitsource"
)

// ConfigFile is a project's config file as read at one commit.
type ConfigFile struct {
	Path     string // the candidate that was found
	Data     []byte // as read: what a deployment keeps
	File     *config.File
	Problems []config.Problem // the warnings of a valid file
}

// ParseFunc parses a config file: config.Parse, or a kept
// (*config.Parser).Parse where files are parsed often.
type ParseFunc func(data []byte) (*config.File, []config.Problem, error)

// ErrConfigNotFound is returned by ReadConfigAt when none of the candidate
// paths is a file at the commit. Callers word it: the project use cases
// talk about the default branch, a deployment about its commit.
var ErrConfigNotFound = errors.New("config file not found")

// ConfigReadError is git failing to read a candidate that may exist.
type ConfigReadError struct {
	Path string
	Err  error
}

func (e *ConfigReadError) Error() string { return "read " + e.Path + ": " + e.Err.Error() }
func (e *ConfigReadError) Unwrap() error { return e.Err }

// ConfigInvalidError is a config file that does not pass validation.
type ConfigInvalidError struct {
	Path     string
	Problems []config.Problem // errors and warnings, in document order
	Err      error            // the parser's error
}

func (e *ConfigInvalidError) Error() string { return e.Path + " is not valid: " + e.Err.Error() }
func (e *ConfigInvalidError) Unwrap() error { return e.Err }

// Errors lists the problems that make the file invalid, or the parser's
// error when it reported none (a file that is not JSON).
func (e *ConfigInvalidError) Errors() []string {
	var lines []string
	for _, p := range e.Problems {
		if p.Severity == config.SeverityError {
			lines = append(lines, p.String())
		}
	}
	if len(lines) == 0 {
		lines = []string{e.Err.Error()}
	}
	return lines
}

// ConfigSearchPath is the configPath to look for in a stored project: the
// default path, stored when the project was made without a choice, keeps
// its fallback; a path the user chose is the only one looked at.
func ConfigSearchPath(stored string) string {
	if stored == config.DefaultPath || stored == config.FallbackPath {
		return ""
	}
	return stored
}

// ConfigCandidates lists the files ReadConfigAt tries, in order: configPath
// alone when it is set, else the default path, then the fallback.
func ConfigCandidates(configPath string) []string {
	if configPath != "" {
		return []string{configPath}
	}
	return []string{config.DefaultPath, config.FallbackPath}
}

// ReadConfigAt reads and validates the first of ConfigCandidates(configPath)
// that is a file at commit. Errors wrap ErrConfigNotFound, or are a
// *ConfigReadError or a *ConfigInvalidError naming the file.
func ReadConfigAt(ctx context.Context, mirror *gitsource.Mirror, commit, configPath string, parse ParseFunc) (ConfigFile, error) {
	for _, candidate := range ConfigCandidates(configPath) {
		data, err := mirror.ReadFile(ctx, commit, candidate)
		if errors.Is(err, gitsource.ErrFileNotFound) {
			continue
		}
		if err != nil {
			return ConfigFile{}, &ConfigReadError{Path: candidate, Err: err}
		}
		return ParseConfig(candidate, data, parse)
	}
	return ConfigFile{}, ErrConfigNotFound
}

// ParseConfig validates data, the config file named path, as ReadConfigAt
// does: an invalid file is a *ConfigInvalidError.
func ParseConfig(path string, data []byte, parse ParseFunc) (ConfigFile, error) {
	file, problems, err := parse(data)
	if err != nil {
		return ConfigFile{}, &ConfigInvalidError{Path: path, Problems: problems, Err: err}
	}
	return ConfigFile{Path: path, Data: data, File: file, Problems: problems}, nil
}

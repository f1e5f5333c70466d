// Package config reads liftoff.json, the file that declares a project's
// environments and services: it models the file, ships its JSON Schema,
// validates a file against the schema and against the rules the schema cannot
// express (unique ids, dependsOn, watch path globs ...), applies the defaults,
// and merges the environment variables of its three levels.
//
// The file has the shape of Flightcontrol's flightcontrol.json so that a
// Flightcontrol user can reuse theirs: settings that only make sense on AWS,
// and service types Liftoff does not run, are accepted and reported as
// warnings rather than errors.
package config

// DefaultPath is where a project's configuration file is looked for, relative
// to the repository root, when the project does not name one.
const DefaultPath = "liftoff.json"

// FallbackPath is read when DefaultPath does not exist, so that a repository
// set up for Flightcontrol works unchanged.
const FallbackPath = "flightcontrol.json"

// MaxFileSize bounds the size of a configuration file Parse accepts. Real files
// are a few kilobytes; the bound keeps a hostile file from costing much.
const MaxFileSize = 1 << 20

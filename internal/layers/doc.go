// Package layers holds the rule that keeps Liftoff's packages in one
// direction: each package sits in a layer, and imports only packages of
// lower layers. Its test checks every package of the module against the
// table in layers_test.go; a new package goes into the table, which
// docs/architecture.md explains.
package layers

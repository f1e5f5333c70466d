package liftoff

import (
	"strings"
	"unicode/utf8"
)

// MaxNameLen bounds the names people give projects, hooks and API keys, in
// characters: enough for a sentence, short enough for a table cell.
const MaxNameLen = 100

// NameRule is what a refusal of such a name says.
const NameRule = "name must be 1 to 100 characters"

// CleanName returns name without the spaces around it, and whether it is
// a valid name: 1 to MaxNameLen characters.
func CleanName(name string) (string, bool) {
	name = strings.TrimSpace(name)
	return name, name != "" && utf8.RuneCountInString(name) <= MaxNameLen
}

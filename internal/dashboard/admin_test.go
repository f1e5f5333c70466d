package dashboard_test

import (
	"regexp"
	"strings"
	"testing"
)

// role is the role the browser's user has, for messages.
func (b *browser) role() string {
	_, body, _ := b.get("/projects")
	m := regexp.MustCompile(`<span class="role">([^<]*)</span>`).FindStringSubmatch(body)
	if m == nil {
		return "signed out"
	}
	return m[1]
}

var formTag = regexp.MustCompile(`(?s)<form\b.*?</form>`)

// formsCarryToken fails unless every form of the page's main part posts
// the session's CSRF token.
func formsCarryToken(t *testing.T, body, csrf string) {
	t.Helper()
	main := body[strings.Index(body, "<main"):]
	forms := formTag.FindAllString(main, -1)
	if len(forms) == 0 {
		t.Fatalf("no form on the page:\n%s", main)
	}
	for _, f := range forms {
		if !strings.Contains(f, `name="csrf" value="`+csrf+`"`) || csrf == "" {
			t.Errorf("a form without the session's CSRF token:\n%s", f)
		}
	}
}

// fieldError is the error the page shows next to the field with id, "" for
// none.
func fieldError(body, id string) string {
	m := regexp.MustCompile(`<p class="field-error" id="` + regexp.QuoteMeta(id) + `-error">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

package api

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"testing"

	"github.com/liftoffhq/liftoff/internal/github"
)

// TestPayloadCapDocumented: the OpenAPI document writes GitHub's payload
// cap out by hand; every size it gives in MB is the cap the API applies,
// and the 413 message it lists is the one the API sends.
func TestPayloadCapDocumented(t *testing.T) {
	t.Parallel()
	want := strconv.Itoa(github.MaxPayloadSize >> 20)
	sizes := regexp.MustCompile(`(\d+) MB\b`).FindAllStringSubmatch(string(openAPIDocument), -1)
	if len(sizes) == 0 {
		t.Fatal("openapi.json names no size in MB: is the payload cap still documented?")
	}
	for _, m := range sizes {
		if m[1] != want {
			t.Errorf("openapi.json says %q; GitHub's cap is %s MB", m[0], want)
		}
	}
	msg, err := json.Marshal(payloadTooLarge())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(openAPIDocument, msg) {
		t.Errorf("openapi.json does not list the 413 message %s", msg)
	}
}

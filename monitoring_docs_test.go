package live_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	live "github.com/live-go/live"
)

// TestMonitoringDocsListStats checks that docs/monitoring.md describes
// every field of the /stats JSON's "server" object (live.Stats), so a new
// counter cannot go undocumented.
func TestMonitoringDocsListStats(t *testing.T) {
	doc, err := os.ReadFile("docs/monitoring.md")
	if err != nil {
		t.Fatal(err)
	}
	st := reflect.TypeFor[live.Stats]()
	for i := range st.NumField() {
		tag, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		if !strings.Contains(string(doc), "| `"+tag+"` |") {
			t.Errorf("docs/monitoring.md has no table row for Stats.%s (%q)", st.Field(i).Name, tag)
		}
		if !strings.Contains(string(doc), `"`+tag+`":`) {
			t.Errorf("docs/monitoring.md's /stats example lacks %q", tag)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/live-go/live/client"
	"github.com/live-go/live/examples/cluster/internal/clusterapp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseFlags(t *testing.T) {
	long := strings.Repeat("s", clusterapp.MinSecret)
	tests := []struct {
		name    string
		args    []string
		env     string
		wantErr bool
		check   func(t *testing.T, c config)
	}{
		{name: "defaults: memory, random secret", check: func(t *testing.T, c config) {
			if c.addr != "127.0.0.1:8080" || c.backend != (clusterapp.Backend{}) || len(c.secret) < clusterapp.MinSecret {
				t.Errorf("%+v", c)
			}
		}},
		{name: "secret from the environment", env: long, check: func(t *testing.T, c config) {
			if string(c.secret) != long {
				t.Errorf("secret %q", c.secret)
			}
		}},
		{name: "redis and lease", args: []string{"-redis", "h:1", "-lease", "3s", "-prefix", "demo"}, check: func(t *testing.T, c config) {
			if c.backend.Redis != "h:1" || c.backend.Prefix != "demo" || c.lease != 3*time.Second {
				t.Errorf("%+v", c)
			}
		}},
		{name: "short secret", args: []string{"-secret", "short"}, wantErr: true},
		{name: "negative lease", args: []string{"-lease", "-1s"}, wantErr: true},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
		{name: "unknown flag", args: []string{"-bogus"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, func(string) string { return tt.env }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// The two nodes behind one page: the page lists both, each node serves
// its own routes under its prefix, and a client of each sees the other's
// actions on the singletons.
func TestTwoNodesBehindOnePage(t *testing.T) {
	cfg, err := parseFlags(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a, err := newApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		if err := a.shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})

	res, err := http.Get(hs.URL + "/panels")
	if err != nil {
		t.Fatal(err)
	}
	var panels []clusterapp.Panel
	err = json.NewDecoder(res.Body).Decode(&panels)
	res.Body.Close()
	if err != nil || len(panels) != 2 || panels[0].Base != "./a/" || panels[1].Base != "./b/" || panels[0].Name == panels[1].Name {
		t.Fatalf("panels %+v, %v", panels, err)
	}
	for _, path := range []string{"/", "/a/", "/b/", "/a/api/live/client.js", "/b/cluster"} {
		res, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, res.Status)
		}
	}

	var comps []*client.Component
	for _, prefix := range []string{"/a", "/b"} {
		c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+prefix+"/api/live/ws", &client.Options{Reconnect: client.ReconnectOptions{Disabled: true}})
		if err != nil {
			t.Fatalf("dial %s: %v", prefix, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		m, err := c.Mount(ctx, clusterapp.TodoListName, nil)
		if err != nil {
			t.Fatalf("mount on %s: %v", prefix, err)
		}
		comps = append(comps, m)
	}
	if _, err := comps[0].Call(ctx, "addTodo", clusterapp.TextArgs{Text: "on a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := comps[1].Call(ctx, "addTodo", clusterapp.TextArgs{Text: "on b"}); err != nil {
		t.Fatal(err)
	}
	for i, m := range comps {
		if err := m.WaitFor(ctx, func(s map[string]any) bool {
			todos, _ := s["todos"].([]any)
			return len(todos) == 2
		}); err != nil {
			t.Fatalf("client %d: %v: %v", i, m.State(), err)
		}
	}
	owners := map[string]bool{}
	for _, n := range a.nodes {
		owners[n.Status(ctx).Owners[clusterapp.TodoListName].Node] = true
	}
	if len(owners) != 1 || owners[""] {
		t.Fatalf("owners reported by the two nodes: %v", owners)
	}
}

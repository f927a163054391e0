package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	long := strings.Repeat("s", 32)
	tests := []struct {
		name    string
		args    []string
		env     string
		wantErr string
		check   func(t *testing.T, c config)
	}{
		{name: "redis", args: []string{"-redis", "h:1", "-node", "n1", "-lease", "2s", "-action-timeout", "1s", "-prefix", "p"}, env: long,
			check: func(t *testing.T, c config) {
				if c.backend.Redis != "h:1" || c.nodeID != "n1" || c.lease != 2*time.Second || c.actionTimeout != time.Second || c.backend.Prefix != "p" || c.addr != "127.0.0.1:8081" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "nats, secret flag", args: []string{"-nats", "nats://h", "-secret", long}, check: func(t *testing.T, c config) {
			if c.backend.NATS != "nats://h" || c.secret != long {
				t.Errorf("%+v", c)
			}
		}},
		{name: "no backend", env: long, wantErr: "pass -redis"},
		{name: "no secret", args: []string{"-redis", "h:1"}, wantErr: "LIVE_STATE_SECRET"},
		{name: "short secret", args: []string{"-redis", "h:1", "-secret", "abc"}, wantErr: "at least 32"},
		{name: "negative lease", args: []string{"-redis", "h:1", "-lease", "-1s"}, env: long, wantErr: "negative"},
		{name: "stray argument", args: []string{"-redis", "h:1", "x"}, env: long, wantErr: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, func(k string) string {
				if k == "LIVE_STATE_SECRET" {
					return tt.env
				}
				return ""
			}, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
	if _, err := parseFlags([]string{"-h"}, func(string) string { return "" }, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// run fails fast, without listening, on a backend that does not answer or
// a bad prefix.
func TestRunBackendErrors(t *testing.T) {
	t.Setenv("LIVE_STATE_SECRET", strings.Repeat("s", 32))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unreachable redis", []string{"-redis", "127.0.0.1:1"}, "redis at 127.0.0.1:1"},
		{"bad prefix", []string{"-redis", "127.0.0.1:1", "-prefix", "a.b"}, "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out strings.Builder
			err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, tt.args...), &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run: %v, want an error mentioning %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Fatalf("printed %q before failing", out.String())
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings
		stderr     []string
		noStdout   bool
		noStderr   bool
		exactLines int // if > 0, stdout line count
	}{
		{name: "no args", args: nil, code: 2, stderr: []string{"Usage:", "demo", "help", "version"}, noStdout: true},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: []string{"Usage:", "live <command>"}, noStderr: true},
		{name: "--help", args: []string{"--help"}, code: 0, stdout: []string{"The commands are:"}, noStderr: true},
		{name: "help", args: []string{"help"}, code: 0, stdout: []string{"demo     run the demo server", "version  print the version"}, noStderr: true},
		{name: "help demo", args: []string{"help", "demo"}, code: 0, stdout: []string{"usage: live demo [-addr ADDR]", "-addr ADDR", `(default "127.0.0.1:8080")`, "LIVE_STATE_SECRET", "msg=listening"}, noStderr: true},
		{name: "help version", args: []string{"help", "version"}, code: 0, stdout: []string{"usage: live version"}, noStderr: true},
		{name: "help help", args: []string{"help", "help"}, code: 0, stdout: []string{"usage: live help [command]"}, noStderr: true},
		{name: "help unknown", args: []string{"help", "nope"}, code: 2, stderr: []string{`live help: unknown command "nope"`, "usage: live help [command]"}, noStdout: true},
		{name: "help too many", args: []string{"help", "demo", "x"}, code: 2, stderr: []string{"too many arguments"}, noStdout: true},
		{name: "unknown command", args: []string{"serve"}, code: 2, stderr: []string{"live serve: unknown command", "Run 'live help' for usage."}, noStdout: true},
		{name: "demo -h", args: []string{"demo", "-h"}, code: 0, stdout: []string{"usage: live demo", "-log-level LEVEL"}, noStderr: true},
		{name: "demo --help", args: []string{"demo", "--help"}, code: 0, stdout: []string{"usage: live demo"}, noStderr: true},
		{name: "demo bad flag", args: []string{"demo", "-port", "1"}, code: 2, stderr: []string{"live demo: flag provided but not defined: -port", "usage: live demo", "Run 'live help demo' for details."}, noStdout: true},
		{name: "demo missing flag value", args: []string{"demo", "-addr"}, code: 2, stderr: []string{"flag needs an argument: -addr"}, noStdout: true},
		{name: "demo extra args", args: []string{"demo", "now"}, code: 2, stderr: []string{`unexpected arguments: ["now"]`}, noStdout: true},
		{name: "demo bad log level", args: []string{"demo", "-log-level", "loud"}, code: 2, stderr: []string{`invalid -log-level "loud"`}, noStdout: true},
		{name: "demo bad addr", args: []string{"demo", "-addr", "127.0.0.1:99999"}, code: 1, stderr: []string{"live demo: listen:"}, noStdout: true},
		{name: "version", args: []string{"version"}, code: 0, stdout: []string{"live ", "go1."}, noStderr: true, exactLines: 1},
		{name: "version extra", args: []string{"version", "x"}, code: 2, stderr: []string{"unexpected arguments"}, noStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tt.noStdout && stdout != "" {
				t.Errorf("unexpected stdout:\n%s", stdout)
			}
			if tt.noStderr && stderr != "" {
				t.Errorf("unexpected stderr:\n%s", stderr)
			}
			if tt.exactLines > 0 && strings.Count(stdout, "\n") != tt.exactLines {
				t.Errorf("stdout has %d lines, want %d:\n%s", strings.Count(stdout, "\n"), tt.exactLines, stdout)
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			if c.short == "" || c.long == "" || !strings.HasPrefix(c.usage, "live "+c.name) {
				t.Errorf("command %q: incomplete help: %+v", c.name, c)
			}
			if !strings.HasSuffix(c.long, "\n") {
				t.Errorf("command %q: long help must end with a newline", c.name)
			}
		})
	}
}

func TestVersionString(t *testing.T) {
	tests := []struct {
		name    string
		version string
		info    *debug.BuildInfo
		want    string // prefix before the Go version
	}{
		{name: "no info", want: "live devel "},
		{name: "ldflags", version: "v1.2.3", info: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.1"}}, want: "live v1.2.3 "},
		{name: "module version", info: &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, want: "live v0.4.0 "},
		{name: "devel", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, want: "live devel "},
		{name: "vcs", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}},
			want: "live devel 0123456789ab+dirty "},
		{name: "vcs clean", info: &debug.BuildInfo{Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}},
			want: "live devel abc "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := versionString(tt.version, tt.info)
			if !strings.HasPrefix(got, tt.want+"go") || !strings.Contains(got, "/") {
				t.Errorf("versionString = %q, want prefix %q + Go version and platform", got, tt.want)
			}
		})
	}
}

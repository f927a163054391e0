package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release version, set at build time with
// -ldflags "-X main.version=v1.2.3". When empty, the module version from
// the build information is used ("devel" for a build from a checkout).
var version string

var versionCommand = &command{
	name:  "version",
	usage: "live version",
	short: "print the version of live",
	long:  "Version prints the version of live, the VCS revision it was built from\nwhen known, and the Go toolchain and platform.\n",
	run: func(_ context.Context, e *env, _ any, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unexpected arguments: %q", args)
		}
		info, _ := debug.ReadBuildInfo()
		_, err := fmt.Fprintln(e.stdout, versionString(version, info))
		return err
	},
}

// versionString formats "live VERSION [REVISION] GOVERSION GOOS/GOARCH".
// info may be nil.
func versionString(v string, info *debug.BuildInfo) string {
	rev, dirty := "", false
	if info != nil {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	out := "live " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+dirty"
		}
		out += " " + rev
	}
	return fmt.Sprintf("%s %s %s/%s", out, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

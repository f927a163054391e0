package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/live-go/live/codegen"
)

// genFlags are the flags of live gen.
type genFlags struct {
	out          string
	pkg          string
	importPath   string
	registerFunc string
	check        bool
	verbose      bool
}

var genCommand = &command{
	name:  "gen",
	usage: "live gen [-out FILE] [-package NAME -import-path PATH] [-func NAME] [-check] [-v] [DIR]",
	short: "generate the registration of a package's components and rooms",
	long: `Gen scans the Go package in DIR (default: the current directory) for live
components (struct types embedding live.Base, or marked //live:component) and
typed rooms (embedding live.RoomBase, or marked //live:room), and writes
zz_live_gen.go with a function RegisterLive(s *live.Server) error that
registers them all. Call it from go generate:

	//go:generate go run github.com/live-go/live/cmd/live gen

The action allow-list of each component is written out in the file: from a
//live:actions marker, from a LiveActions() []string method, or else from the
exported methods with an action signature. Other markers (//live:name,
//live:writable, //live:singleton, //live:new, //live:maxmembers,
//live:codec, //live:skip) are described in docs/codegen.md.

The file is written only when its content changes, so regenerating an
unchanged package leaves git diff empty. With -check nothing is written and
gen fails if the file is out of date (for CI).
`,
	flags: func(fs *flag.FlagSet) any {
		f := &genFlags{}
		fs.StringVar(&f.out, "out", codegen.DefaultOutFile, "write `FILE` (relative to DIR)")
		fs.StringVar(&f.pkg, "package", "", "package `NAME` of the generated file (default: the scanned package's)")
		fs.StringVar(&f.importPath, "import-path", "", "import `PATH` of the scanned package, to write the file into another package")
		fs.StringVar(&f.registerFunc, "func", codegen.DefaultRegisterFunc, "`NAME` of the generated function")
		fs.BoolVar(&f.check, "check", false, "write nothing; fail if the file is out of date")
		fs.BoolVar(&f.verbose, "v", false, "print the file's path when it is written")
		return f
	},
	run: func(_ context.Context, e *env, flags any, args []string) error {
		f := flags.(*genFlags)
		dir := "."
		switch len(args) {
		case 0:
		case 1:
			dir = args[0]
		default:
			return usageErrorf("at most one directory, got %q", args)
		}
		opts := codegen.Options{
			Dir:          dir,
			OutFile:      f.out,
			Package:      f.pkg,
			ImportPath:   f.importPath,
			RegisterFunc: f.registerFunc,
			Check:        f.check,
		}
		changed, err := codegen.Generate(opts)
		if err != nil {
			return err
		}
		switch {
		case f.check && changed:
			return fmt.Errorf("%s is out of date: run go generate (or live gen %s)", f.out, dir)
		case changed && f.verbose:
			fmt.Fprintf(e.stdout, "wrote %s\n", f.out)
		}
		return nil
	},
}

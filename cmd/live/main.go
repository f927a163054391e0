// Live is the command-line tool of live-go, server-authoritative real-time
// components for Go.
//
// Usage:
//
//	live <command> [arguments]
//
// The commands are:
//
//	demo     run the demo server (counter, todos, chat, uploads, monitor)
//	bench    measure a live server (any server speaking the protocol)
//	echo     run the benchmark's calibration server (Go echo ceiling)
//	gen      generate component and room registration (go generate)
//	inspect  connect to a server and mount, call and watch components
//	help     show help for a command
//	version  print the version of live
//
// Run "live help <command>" for the flags of a command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// command is one subcommand of live. New subcommands (gen, bench,
// inspect, ...) add an entry to commands.
type command struct {
	// name is the word after "live".
	name string
	// usage is the one-line synopsis after "usage: ".
	usage string
	// short is the one-line description in the command list.
	short string
	// long is the help text printed by "live help <name>" and -h, before
	// the flag defaults.
	long string
	// flags defines the command's flags on fs; nil for none.
	flags func(fs *flag.FlagSet) any
	// run executes the command with its parsed flags (the value flags
	// returned) and the remaining arguments.
	run func(ctx context.Context, e *env, flags any, args []string) error
}

// env is what a command may touch besides its arguments.
type env struct {
	stdout io.Writer
	stderr io.Writer
}

// usageError is a bad invocation: it exits with status 2 and a usage hint.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// commands lists every subcommand in help order. It is filled in init
// because help refers to it.
var commands []*command

func init() {
	commands = []*command{demoCommand, benchCommand, echoCommand, genCommand, inspectCommand, helpCommand, versionCommand}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args (without the program name) and
// returns the exit status: 0 success, 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		printUsage(stdout)
		return 0
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "live %s: unknown command\nRun 'live help' for usage.\n", args[0])
		return 2
	}
	err := runCommand(ctx, e, cmd, args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		printCommandHelp(stdout, cmd)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "live %s: %s\nusage: %s\nRun 'live help %s' for details.\n", cmd.name, ue.msg, cmd.usage, cmd.name)
		return 2
	default:
		fmt.Fprintf(stderr, "live %s: %v\n", cmd.name, err)
		return 1
	}
}

// runCommand parses cmd's flags from args and runs it.
func runCommand(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := flag.NewFlagSet("live "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by run, help by printCommandHelp
	fs.Usage = func() {}
	var flags any
	if cmd.flags != nil {
		flags = cmd.flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	return cmd.run(ctx, e, flags, fs.Args())
}

func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Live is the command-line tool of live-go, real-time server components for Go.\n\n")
	b.WriteString("Usage:\n\n\tlive <command> [arguments]\n\nThe commands are:\n\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "\t%-8s %s\n", c.name, c.short)
	}
	b.WriteString("\nUse \"live help <command>\" for more information about a command.\n")
	_, _ = io.WriteString(w, b.String())
}

func printCommandHelp(w io.Writer, cmd *command) {
	fmt.Fprintf(w, "usage: %s\n\n%s", cmd.usage, cmd.long)
	if cmd.flags == nil {
		return
	}
	fs := flag.NewFlagSet("live "+cmd.name, flag.ContinueOnError)
	cmd.flags(fs)
	fmt.Fprintf(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

var helpCommand = &command{
	name:  "help",
	usage: "live help [command]",
	short: "show help for a command",
	long:  "Help prints the list of commands, or the help of one command.\n",
	run: func(_ context.Context, e *env, _ any, args []string) error {
		switch len(args) {
		case 0:
			printUsage(e.stdout)
			return nil
		case 1:
			cmd := lookup(args[0])
			if cmd == nil {
				return usageErrorf("unknown command %q", args[0])
			}
			printCommandHelp(e.stdout, cmd)
			return nil
		default:
			return usageErrorf("too many arguments")
		}
	},
}

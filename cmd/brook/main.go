// Command brook manages a Brook data directory from the shell: topics,
// producing and consuming messages, consumer groups, and checking the data
// on disk. It works directly on the directory (--dir, default
// $BROOK_DATA_DIR or ./brook-data): the reading commands (listings,
// describe, consume outside a group, check) open it read-only and work
// while another program holds it; the commands that change data need it to
// themselves. It knows nothing of the directory's layout: check is
// brook.Check, check --repair TOPIC/PARTITION is brook.RepairPartition.
//
//	brook topics create orders --partitions 3
//	printf 'k1:hello\nk2:world\n' | brook produce orders --key-sep :
//	echo '{"key":"k1","value":"hello"}' | brook produce orders --json
//	brook consume orders --format '%p/%o %k=%v\n'
//	brook consume orders --json --encoding base64 --offset s@2026-12-03T10:00:00Z
//	brook consume orders --group audit --count 10
//	brook groups describe audit
//	brook groups reset-offsets audit --topic orders --to-earliest
//	brook topics alter orders --retention-age 7d
//	brook topics                       # alone, topics and groups list
//	brook check
//
// Exit status: 0 on success, 1 on an error, 2 on a usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // the first signal ends the command cleanly; a second one kills it
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// app is what every subcommand shares: the I/O streams, the context that a
// signal cancels, and the global flags.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	dir         string // --dir
	json        bool   // --json
	server      string // --server: read through a brook serve instead of the directory
	serverToken string // --server-token, else $BROOK_SERVER_TOKEN
}

// subcommands returns the constructors of brook's subcommands, in the order
// help lists them. A new subcommand lives in its own file as a
// func(*app) *cobra.Command and is added here.
func subcommands() []func(*app) *cobra.Command {
	return []func(*app) *cobra.Command{
		newTopicsCmd,
		newProduceCmd,
		newConsumeCmd,
		newGroupsCmd,
		newCheckCmd,
		newBenchCmd,
		newServeCmd,
	}
}

// run executes the command line args and returns the exit code. It is main
// without the process: tests call it with their own streams and context.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	return a.report(cmd, err)
}

// newRootCmd builds the brook command with its global flags and subcommands.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "brook",
		Short: "Manage a Brook data directory: topics, messages, consumer groups",
		Long: "brook works on a Brook data directory: create and inspect topics, produce\n" +
			"and consume messages, inspect consumer groups, and check the data on disk.\n\n" +
			"Exit status: 0 on success, 1 on an error, 2 on a usage error.",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.PersistentFlags().StringVar(&a.dir, "dir", "",
		"data directory (default: $BROOK_DATA_DIR, else ./"+brook.DefaultDir+")")
	root.PersistentFlags().BoolVar(&a.json, "json", false, "print JSON for scripts instead of a table")
	root.PersistentFlags().StringVar(&a.server, "server", "",
		"read through a running brook serve's console (`HOST:PORT` of --http) instead of the directory: topics list, describe, alter; groups list, describe, delete, reset-offsets")
	root.PersistentFlags().StringVar(&a.serverToken, "server-token", os.Getenv("BROOK_SERVER_TOKEN"),
		"bearer token for --server (default: $BROOK_SERVER_TOKEN)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	for _, newCmd := range subcommands() {
		root.AddCommand(newCmd(a))
	}
	return root
}

// dataDir returns the data directory: --dir, else the one the library's
// GetorSetBrokerInstance would use.
func (a *app) dataDir() string {
	if a.dir != "" {
		return a.dir
	}
	if d := os.Getenv("BROOK_DATA_DIR"); d != "" {
		return d
	}
	return brook.DefaultDir
}

// openBroker opens the data directory. Unless create is set, the directory
// must exist already: a mistyped --dir should not leave an empty data
// directory behind.
func (a *app) openBroker(create bool) (*brook.Broker, error) {
	if !create {
		if err := a.requireDir(); err != nil {
			return nil, err
		}
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := brook.Open(a.dataDir(), &brook.Options{Logger: logger, NoCreate: !create})
	if errors.Is(err, brook.ErrNotDataDir) {
		return nil, hinted(err, "point --dir or BROOK_DATA_DIR at a Brook data directory; Brook never uses a directory it did not create")
	}
	return b, err
}

// requireDir returns an error with advice when the data directory is missing.
func (a *app) requireDir() error {
	dir := a.dataDir()
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return hinted(fmt.Errorf("no data directory at %s", dir),
			"create a topic first (brook topics create NAME --partitions N), or point --dir or BROOK_DATA_DIR at a data directory")
	case err != nil:
		return err
	case !fi.IsDir():
		return hinted(fmt.Errorf("%s is not a directory", dir), "point --dir at a Brook data directory")
	}
	return nil
}

// withReader is withBroker for the commands that only read: the broker is
// opened read-only (brook.Options.ReadOnly), so they work while another
// program holds the directory.
func (a *app) withReader(fn func(b *brook.Broker) error) error {
	if a.server != "" {
		return usageErr(errServerOnlyReads)
	}
	if err := a.requireDir(); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := brook.Open(a.dataDir(), &brook.Options{Logger: logger, ReadOnly: true})
	if errors.Is(err, brook.ErrNotDataDir) {
		return hinted(err, "point --dir or BROOK_DATA_DIR at a Brook data directory; Brook never uses a directory it did not create")
	}
	if err != nil {
		return err
	}
	return runAndClose(b, fn)
}

// withBroker opens the broker, calls fn and closes the broker, returning
// fn's error or else the error of closing.
func (a *app) withBroker(create bool, fn func(b *brook.Broker) error) error {
	if a.server != "" {
		return usageErr(errServerOnlyReads)
	}
	b, err := a.openBroker(create)
	if err != nil {
		return err
	}
	return runAndClose(b, fn)
}

// runAndClose calls fn with b, then closes b; it returns fn's error, or
// else the error of closing.
func runAndClose(b *brook.Broker, fn func(b *brook.Broker) error) error {
	err := fn(b)
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	return err
}

// action adapts a command's body to cobra's RunE and marks its errors as
// run-time errors (exit code 1) unless they are usage errors.
func action(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		var u *usageError
		if err == nil || errors.As(err, &u) {
			return err
		}
		return &runError{err: err}
	}
}

// parentCmd returns a command that only groups subcommands: alone it prints
// its help, and an unknown subcommand is a usage error (cobra checks that
// only for the root command by itself).
func parentCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(subs...)
	return cmd
}

// listByDefault makes parent, alone, run its list subcommand instead of
// printing its help: `brook topics` lists the topics as `brook topics list`
// does.
func listByDefault(parent *cobra.Command) *cobra.Command {
	for _, sub := range parent.Commands() {
		if sub.Name() == "list" {
			parent.RunE = sub.RunE
		}
	}
	return parent
}

// args wraps a cobra argument validator so that its errors are usage errors.
func args(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := v(cmd, a); err != nil {
			return usageErr(err)
		}
		return nil
	}
}

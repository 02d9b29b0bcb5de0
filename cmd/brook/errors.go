package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
)

// usageError is a mistake on the command line (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErr wraps err as a usage error.
func usageErr(err error) error { return &usageError{err: err} }

// usagef returns a usage error with a formatted message.
func usagef(format string, a ...any) error { return usageErr(fmt.Errorf(format, a...)) }

// runError is an error of a command that started running (exit code 1).
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// hintError carries advice on what to do about an error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// hinted attaches advice to err.
func hinted(err error, hint string) error { return &hintError{err: err, hint: hint} }

// report prints err and advice to stderr and returns the exit code: 1 for
// an error of a running command, 2 for anything wrong on the command line
// (cobra's own errors, such as an unknown command, included).
func (a *app) report(cmd *cobra.Command, err error) int {
	fmt.Fprintf(a.stderr, "error: %v\n", err)
	var r *runError
	if !errors.As(err, &r) {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	if h := hint(err); h != "" {
		fmt.Fprintf(a.stderr, "hint: %s\n", h)
	}
	return exitError
}

// hint returns advice for the errors a user can do something about.
func hint(err error) string {
	var h *hintError
	if errors.As(err, &h) {
		return h.hint
	}
	switch {
	case errors.Is(err, brook.ErrLocked):
		return "another program (a broker, or another brook command) has this data directory open, and this command " +
			"changes data, so it needs the directory to itself (reading commands work while it is held); stop it and try again, or use another --dir (a brook serve --http can be read with --server HOST:PORT)"
	case errors.Is(err, brook.ErrGroupActive):
		return "close the group's consumers first (brook groups describe GROUP lists its members)"
	case errors.Is(err, brook.ErrUnknownGroup):
		return "list the groups with: brook groups list"
	case errors.Is(err, brook.ErrUnknownTopic):
		return "list the topics with: brook topics list"
	case errors.Is(err, brook.ErrInvalidTopicName), errors.Is(err, brook.ErrInvalidGroupID):
		return "names are 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-', and not '.' or '..'"
	case errors.Is(err, brook.ErrTopicExists):
		return "see it with: brook topics describe NAME (or pass --if-not-exists)"
	case errors.Is(err, brook.ErrInvalidPartition):
		return "see the topic's partitions with: brook topics describe TOPIC"
	case errors.Is(err, brook.ErrOffsetOutOfRange):
		return "use --offset earliest, latest, or a number in the partition's range (brook topics describe TOPIC)"
	case errors.Is(err, brook.ErrMessageTooLarge):
		return "a topic's message size limit is set when it is created (--max-message-bytes)"
	case errors.Is(err, brook.ErrCorrupt):
		return "see which partitions are damaged with: brook check"
	case errors.Is(err, brook.ErrPartitionFailed):
		return "a write to disk failed; check free space and permissions, then run the command again"
	}
	return ""
}

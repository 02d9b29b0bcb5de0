package pubsub

import (
	"errors"
	"fmt"

	"github.com/brookmq/brook"
)

// Sentinel errors of this package. Every other error a Client returns is
// one of Brook's (brook.ErrUnknownTopic, brook.ErrInvalidTopicName,
// brook.ErrClosed, ...), whatever the backend, so that callers match them
// with errors.Is the same way on each.
var (
	// ErrUnknownScheme is returned by Registry.Open and Open for a URL whose
	// scheme has no registered Opener. The error's text lists the schemes
	// that are registered.
	ErrUnknownScheme = errors.New("pubsub: unknown URL scheme")

	// ErrBadURL is returned by Registry.Open, Open and the built-in openers
	// for a URL that does not parse, or that names an unknown query key or
	// a bad value for a known one.
	ErrBadURL = errors.New("pubsub: bad URL")
)

// validName is Brook's naming rule (Kafka's), for topics and groups.
func validName(s string) bool { return brook.ValidName(s) }

// checkTopic returns brook.ErrInvalidTopicName (in a *brook.TopicError) for
// a name that breaks the rules.
func checkTopic(name string) error {
	if !validName(name) {
		return &brook.TopicError{Topic: name, Err: brook.ErrInvalidTopicName}
	}
	return nil
}

// checkGroup returns brook.ErrInvalidGroupID for a group ID that breaks the
// rules. The empty group, which reads outside any group, is valid here.
func checkGroup(group string) error {
	if group != "" && !validName(group) {
		return fmt.Errorf("%w: %q", brook.ErrInvalidGroupID, group)
	}
	return nil
}

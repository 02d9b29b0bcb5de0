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

// validName reports whether s follows Kafka's naming rules, which Brook
// applies to topic names and group IDs: 1 to 249 characters of
// [a-zA-Z0-9._-], and neither "." nor "..".
func validName(s string) bool {
	if len(s) == 0 || len(s) > 249 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

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

package event

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Callers match them with errors.Is.
var (
	// ErrNoRoute is wrapped by the *RouteError that Router.Dispatch returns
	// for an event no bind matches (unless a NotFound handler takes it).
	ErrNoRoute = errors.New("event: no route")

	// ErrPendingRequest is returned by Bus.Request when a request with the
	// same correlation id is already waiting on that bus: its reply could
	// not be told apart.
	ErrPendingRequest = errors.New("event: request with this correlation id already pending")
)

// RouteError says why a Router found no handler for an event. It wraps
// ErrNoRoute.
type RouteError struct {
	Event   string   // the event name
	Walked  []string // the segments matched, in order: included routers, then a bind's prefix
	Missing string   // the segment nothing matched; "" when the name ended first
}

// Error names the event and where its walk stopped.
func (e *RouteError) Error() string {
	walked := strings.Join(e.Walked, ".")
	switch {
	case e.Missing == "" && len(e.Walked) > 0:
		return fmt.Sprintf("event: no route for %q: the name ends after %q", e.Event, walked)
	case len(e.Walked) > 0:
		return fmt.Sprintf("event: no route for %q: nothing for %q after %q", e.Event, e.Missing, walked)
	default:
		return fmt.Sprintf("event: no route for %q: nothing for %q", e.Event, e.Missing)
	}
}

// Unwrap returns ErrNoRoute.
func (e *RouteError) Unwrap() error { return ErrNoRoute }

// RemoteError is the error Bus.Request returns when the reply carries an
// ErrorInfo: the responder's handler failed.
type RemoteError struct {
	Code    string // ErrorInfo.Code
	Message string // ErrorInfo.Message
	Event   *Event // the error reply itself, with its audit log
}

// Error returns the remote code and message.
func (e *RemoteError) Error() string {
	return "event: remote error: " + e.Code + ": " + e.Message
}

// DecodeError is returned by Decode (and so by Router.Handle and Bus.Listen)
// for a message that was not an Event.
type DecodeError struct {
	Topic     string
	Partition int
	Offset    int64
	Err       error // the JSON error, or the missing name
}

// Error names the message and the cause.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("event: %s/%d@%d is not an event: %v", e.Topic, e.Partition, e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// errorInfo is what an error reply carries for err: the error's own
// ErrorInfo (or a remote error's, passed on), else a code for its kind.
func errorInfo(err error) *ErrorInfo {
	var info *ErrorInfo
	var remote *RemoteError
	var decode *DecodeError
	switch {
	case errors.As(err, &info):
		return &ErrorInfo{Code: info.Code, Message: info.Message}
	case errors.As(err, &remote):
		return &ErrorInfo{Code: remote.Code, Message: remote.Message}
	case errors.Is(err, ErrNoRoute):
		return &ErrorInfo{Code: CodeNoRoute, Message: err.Error()}
	case errors.As(err, &decode):
		return &ErrorInfo{Code: CodeBadRequest, Message: err.Error()}
	default:
		return &ErrorInfo{Code: CodeInternal, Message: err.Error()}
	}
}

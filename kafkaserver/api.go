package kafkaserver

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// api is one served API key: its version range and its handler. Each
// NN_name.go file declares one; apiList gathers them.
type api struct {
	key, min, max int16
	// handle answers a request. A nil response sends nothing (Produce with
	// acks=0); an error closes the connection.
	handle func(c *conn, r *request) (kmsg.Response, error)
	// async, when set instead of handle, starts the request and calls
	// done once with its response, possibly on another goroutine.
	async func(c *conn, r *request, done func(kmsg.Response, error))
	// sasl marks the APIs that only exist when SASL is configured.
	sasl bool
}

// apiList is the request table: every API the server knows, by key.
func apiList() []api {
	return []api{
		produceAPI, fetchAPI, listOffsetsAPI, metadataAPI,
		offsetCommitAPI, offsetFetchAPI, findCoordinatorAPI, joinGroupAPI,
		heartbeatAPI, leaveGroupAPI, syncGroupAPI, describeGroupsAPI,
		listGroupsAPI, saslHandshakeAPI, apiVersionsAPI, createTopicsAPI,
		deleteTopicsAPI, initProducerIDAPI, describeConfigsAPI, saslAuthenticateAPI, deleteGroupsAPI,
	}
}

// apiTable holds the APIs served by one server, indexed by key.
type apiTable struct {
	byKey  map[int16]api
	sorted []api
}

func newAPITable(sasl bool) *apiTable {
	t := &apiTable{byKey: make(map[int16]api)}
	for _, a := range apiList() {
		if a.sasl && !sasl {
			continue
		}
		t.byKey[a.key] = a
		t.sorted = append(t.sorted, a)
	}
	return t
}

func (t *apiTable) lookup(key int16) (api, bool) {
	a, ok := t.byKey[key]
	return a, ok
}

// start runs the request's handler, or starts its asynchronous one, and
// completes p. A handler's error or panic (logged) closes the connection
// after the response, if any.
func (c *conn) start(p *pending) {
	r := p.req
	var once atomic.Bool
	finish := func(resp kmsg.Response, err error) {
		if !once.CompareAndSwap(false, true) {
			return
		}
		if err != nil {
			c.s.log.Debug("kafkaserver: closing connection", "remote", c.remote, "key", r.key, "err", err)
		}
		p.resp, p.keep = resp, err == nil
		close(p.done)
	}
	defer func() {
		if v := recover(); v != nil {
			c.s.log.Error("kafkaserver: handler panicked", "key", r.key, "version", r.version,
				"remote", c.remote, "panic", v, "stack", string(debug.Stack()))
			finish(nil, fmt.Errorf("handler panicked"))
		}
	}()
	switch a, _ := c.s.apis.lookup(r.key); {
	case r.unsupported:
		finish(c.apiVersionsUnsupported(), nil)
	case !c.authenticated && r.key != apiVersionsKey && r.key != saslHandshakeKey && r.key != saslAuthenticateKey:
		c.s.log.Warn("kafkaserver: request before SASL authentication", "key", r.key, "remote", c.remote)
		finish(nil, fmt.Errorf("request before SASL authentication"))
	case a.async != nil:
		a.async(c, r, finish)
	default:
		finish(a.handle(c, r))
	}
}

// errWrongBody is returned by handlers given a body of another key; it
// cannot happen with parseRequest's decoding.
func errWrongBody(r *request) error {
	return fmt.Errorf("%w: key %d decoded as %T", errFrame, r.key, r.body)
}

package kafkaserver

import (
	"bytes"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

const saslAuthenticateKey = 36

// SaslAuthenticate 0-2, served only when Options.SASLPlain is set: one
// PLAIN message (authzid NUL user NUL password). A failure answers
// SASL_AUTHENTICATION_FAILED and closes the connection.
var saslAuthenticateAPI = api{key: saslAuthenticateKey, min: 0, max: 2, handle: (*conn).saslAuthenticate, sasl: true}

func (c *conn) saslAuthenticate(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.SASLAuthenticateRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	if !c.handshaken || c.authenticated {
		resp.ErrorCode = errIllegalSASLState
		return resp, fmt.Errorf("SASL authenticate out of order")
	}
	parts := bytes.Split(req.SASLAuthBytes, []byte{0})
	if len(parts) != 3 || !c.s.opts.SASLPlain(string(parts[1]), string(parts[2])) {
		resp.ErrorCode = errSASLAuthenticationFailed
		resp.ErrorMessage = kmsg.StringPtr("invalid user or password")
		c.s.log.Warn("kafkaserver: SASL authentication failed", "remote", c.remote)
		return resp, fmt.Errorf("SASL authentication failed")
	}
	c.authenticated, c.user = true, string(parts[1])
	return resp, nil
}

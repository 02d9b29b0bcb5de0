package kafkaserver

import "github.com/twmb/franz-go/pkg/kmsg"

const saslHandshakeKey = 17

// SaslHandshake 1, served only when Options.SASLPlain is set: the PLAIN
// mechanism, then SaslAuthenticate. (Version 0, raw SASL frames after the
// handshake, is not served.)
var saslHandshakeAPI = api{key: saslHandshakeKey, min: 1, max: 1, handle: (*conn).saslHandshake, sasl: true}

func (c *conn) saslHandshake(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.SASLHandshakeRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	resp.SupportedMechanisms = []string{"PLAIN"}
	switch {
	case c.authenticated || c.handshaken:
		resp.ErrorCode = errIllegalSASLState
	case req.Mechanism != "PLAIN":
		resp.ErrorCode = errUnsupportedSASLMechanism
	default:
		c.handshaken = true
	}
	return resp, nil
}

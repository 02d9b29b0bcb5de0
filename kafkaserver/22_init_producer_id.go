package kafkaserver

import "github.com/twmb/franz-go/pkg/kmsg"

// InitProducerID 0-4 for idempotent producers: a new producer ID, or
// (v3+, KIP-360) the next epoch of a known one with fresh sequences.
// Transactional IDs are refused (no transactions).
var initProducerIDAPI = api{key: 22, min: 0, max: 4, handle: (*conn).initProducerID}

func (c *conn) initProducerID(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.InitProducerIDRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		resp.ErrorCode = errTransactionalIDAuthFailed
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch, resp.ErrorCode = c.s.idem.init(req.ProducerID, req.ProducerEpoch)
	return resp, nil
}

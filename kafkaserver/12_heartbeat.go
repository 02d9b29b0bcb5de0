package kafkaserver

import "github.com/twmb/franz-go/pkg/kmsg"

// Heartbeat 0-4: resets the member's session timer, and answers
// REBALANCE_IN_PROGRESS when Brook's assignment for it changed, so that it
// joins again.
var heartbeatAPI = api{key: 12, min: 0, max: 4, handle: (*conn).heartbeat}

func (c *conn) heartbeat(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.HeartbeatRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	rm, ok := c.s.groups.lookup(req.Group, req.MemberID)
	if !ok {
		resp.ErrorCode = errUnknownMemberID
		return resp, nil
	}
	rm.m.Heartbeat()
	if req.Generation != rm.generation() {
		resp.ErrorCode = errIllegalGeneration
		return resp, nil
	}
	switch changed, in := rm.changed(); {
	case !in:
		resp.ErrorCode = errUnknownMemberID
	case changed:
		resp.ErrorCode = errRebalanceInProgress
	}
	return resp, nil
}

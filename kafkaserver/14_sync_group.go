package kafkaserver

import "github.com/twmb/franz-go/pkg/kmsg"

// SyncGroup 0-5: every member gets its share of Brook's assignment; the
// assignments a client leader sends are ignored (no member is leader).
var syncGroupAPI = api{key: 14, min: 0, max: 5, handle: (*conn).syncGroup}

func (c *conn) syncGroup(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.SyncGroupRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	rm, ok := c.s.groups.lookup(req.Group, req.MemberID)
	if !ok {
		resp.ErrorCode = errUnknownMemberID
		return resp, nil
	}
	if req.Generation != rm.generation() {
		resp.ErrorCode = errIllegalGeneration
		return resp, nil
	}
	resp.ProtocolType, resp.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr(rm.protocol)
	assignment, ok := rm.sync()
	if !ok {
		resp.ErrorCode = errUnknownMemberID
		return resp, nil
	}
	resp.MemberAssignment = assignment
	return resp, nil
}

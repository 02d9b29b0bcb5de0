package kafkaserver

import "github.com/twmb/franz-go/pkg/kmsg"

// LeaveGroup 0-4: the member leaves at once and its partitions move on.
var leaveGroupAPI = api{key: 13, min: 0, max: 4, handle: (*conn).leaveGroup}

func (c *conn) leaveGroup(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.LeaveGroupRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if r.version < 3 {
		resp.ErrorCode = c.s.groups.leave(req.Group, req.MemberID)
		return resp, nil
	}
	for _, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = m.MemberID, m.InstanceID
		rm.ErrorCode = c.s.groups.leave(req.Group, m.MemberID)
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}

func (co *coordinator) leave(group, member string) int16 {
	rm, ok := co.lookup(group, member)
	if !ok {
		return errUnknownMemberID
	}
	co.forget(group, member)
	rm.m.Leave()
	return errNone
}

package kafkaserver

import "github.com/twmb/franz-go/pkg/kmsg"

// DeleteGroups 0-2: removes a group without members and its committed
// offsets (NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND when
// unknown).
var deleteGroupsAPI = api{key: 42, min: 0, max: 2, handle: (*conn).deleteGroups}

func (c *conn) deleteGroups(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.DeleteGroupsRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range req.Groups {
		g := kmsg.NewDeleteGroupsResponseGroup()
		g.Group = id
		g.ErrorCode = errorCode(c.s.b.DeleteGroup(id))
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}

package kafkaserver

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups 0-4: every group with members or committed offsets, all of
// protocol type "consumer"; v4's state filter is applied.
var listGroupsAPI = api{key: 16, min: 0, max: 4, handle: (*conn).listGroups}

func (c *conn) listGroups(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.ListGroupsRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	ids, err := c.s.b.Groups()
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp, nil
	}
	for _, id := range ids {
		st, err := c.s.b.GroupStats(id)
		if err != nil {
			continue
		}
		g := kmsg.NewListGroupsResponseGroup()
		g.Group, g.ProtocolType, g.GroupState, g.GroupType = id, "consumer", groupState(len(st.Members)), "classic"
		if len(req.StatesFilter) > 0 && !slices.ContainsFunc(req.StatesFilter, func(s string) bool {
			return s == g.GroupState
		}) {
			continue
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}

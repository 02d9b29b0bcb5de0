package kafkaserver

import (
	"errors"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups 0-5: state (Stable with members, Empty without, Dead when
// unknown), and every member, remote and in-process, with its assignment.
// In-process members show client ID "brook" and host "in-process".
var describeGroupsAPI = api{key: 15, min: 0, max: 5, handle: (*conn).describeGroups}

func (c *conn) describeGroups(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.DescribeGroupsRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		resp.Groups = append(resp.Groups, c.s.describeGroup(id))
	}
	return resp, nil
}

func (s *Server) describeGroup(id string) kmsg.DescribeGroupsResponseGroup {
	g := kmsg.NewDescribeGroupsResponseGroup()
	g.Group, g.ProtocolType = id, "consumer"
	st, err := s.b.GroupStats(id)
	if errors.Is(err, brook.ErrUnknownGroup) {
		g.State = "Dead"
		return g
	}
	if err != nil {
		g.ErrorCode = errorCode(err)
		return g
	}
	g.State = groupState(len(st.Members))
	remotes := s.groups.remotes(id)
	for _, ms := range st.Members {
		m := kmsg.NewDescribeGroupsResponseGroupMember()
		m.MemberID, m.ClientID, m.ClientHost = ms.ID, "brook", "in-process"
		held := make(map[brook.TopicPartition]bool, len(ms.Assigned))
		for _, tp := range ms.Assigned {
			held[tp] = true
		}
		m.MemberAssignment = encodeAssignment(held)
		if rm, ok := remotes[ms.ID]; ok {
			m.ClientID, m.ClientHost = rm.clientID, rm.host
			rm.mu.Lock()
			m.ProtocolMetadata = rm.metadata
			rm.mu.Unlock()
			g.Protocol = rm.protocol
		}
		g.Members = append(g.Members, m)
	}
	if g.Protocol == "" && len(st.Members) > 0 {
		g.Protocol = "brook"
	}
	return g
}

func groupState(members int) string {
	if members > 0 {
		return "Stable"
	}
	return "Empty"
}

package kafkaserver

import (
	"encoding/binary"
	"errors"
	"net"
	"time"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup 0-7 for protocol type "consumer" (other types are refused with
// INCONSISTENT_GROUP_PROTOCOL). It answers at once; see coordinator for how
// the classic protocol maps onto Brook's coordinator. The protocol chosen
// for a member is cooperative-sticky when it offers it, else its first.
var joinGroupAPI = api{key: 11, min: 0, max: 7, handle: (*conn).joinGroup}

// coordinatorLeader is the leader every member is told of: not one of
// them, so no client computes an assignment.
const coordinatorLeader = "brook-coordinator"

func (c *conn) joinGroup(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.JoinGroupRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.Generation = -1
	resp.LeaderID = coordinatorLeader
	resp.MemberID = req.MemberID
	protocol, metadata, topics, code := chooseProtocol(req)
	if code != errNone {
		resp.ErrorCode = code
		return resp, nil
	}
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	if session <= 0 || session > maxSessionTimeout {
		resp.ErrorCode = errInvalidSessionTimeout
		return resp, nil
	}
	resp.Protocol, resp.ProtocolType = kmsg.StringPtr(protocol), kmsg.StringPtr("consumer")
	co := c.s.groups
	var rm *remote
	if req.MemberID == "" {
		name := r.clientID
		if name == "" {
			name = "kafka"
		}
		m, err := c.s.b.JoinRemote(req.Group, name, topics, session)
		if err != nil {
			resp.ErrorCode = errorCode(err)
			if errors.Is(err, brook.ErrClosed) {
				resp.ErrorCode = errCoordinatorNotAvailable
			}
			return resp, nil
		}
		host, _, _ := net.SplitHostPort(c.remote)
		rm = &remote{m: m, clientID: r.clientID, host: host, protocol: protocol,
			cooperative: protocol == cooperativeProtocol}
		co.add(rm)
	} else if rm, ok = co.lookup(req.Group, req.MemberID); !ok {
		resp.ErrorCode = errUnknownMemberID
		return resp, nil
	}
	resp.MemberID = rm.m.ID()
	resp.Generation = rm.rejoin(topics, metadata)
	return resp, nil
}

// chooseProtocol picks the member's protocol and decodes its subscription.
func chooseProtocol(req *kmsg.JoinGroupRequest) (name string, metadata []byte, topics []string, code int16) {
	if req.ProtocolType != "consumer" || len(req.Protocols) == 0 {
		return "", nil, nil, errInconsistentGroupProtocol
	}
	chosen := req.Protocols[0]
	for _, p := range req.Protocols {
		if p.Name == cooperativeProtocol {
			chosen = p
		}
	}
	topics, ok := subscribedTopics(chosen.Metadata)
	if !ok {
		return "", nil, nil, errInconsistentGroupProtocol
	}
	return chosen.Name, chosen.Metadata, topics, errNone
}

// subscribedTopics reads the topics of a consumer-protocol subscription: a
// version, then an array of strings. What follows (user data, owned
// partitions) is not needed and clients differ in what they send, so it is
// not read.
func subscribedTopics(b []byte) ([]string, bool) {
	if len(b) < 6 {
		return nil, false
	}
	n := int32(binary.BigEndian.Uint32(b[2:]))
	b = b[6:]
	if n < 0 || int(n) > len(b)/2 {
		return nil, false
	}
	topics := make([]string, 0, n)
	for range n {
		if len(b) < 2 {
			return nil, false
		}
		l := int(int16(binary.BigEndian.Uint16(b)))
		if l < 0 || l > len(b)-2 {
			return nil, false
		}
		topics = append(topics, string(b[2:2+l]))
		b = b[2+l:]
	}
	return topics, true
}

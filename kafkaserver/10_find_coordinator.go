package kafkaserver

import "github.com/twmb/franz-go/pkg/kmsg"

// FindCoordinator 0-3: this node coordinates every group. Transaction
// coordinators are not served (COORDINATOR_NOT_AVAILABLE).
var findCoordinatorAPI = api{key: 10, min: 0, max: 3, handle: (*conn).findCoordinator}

func (c *conn) findCoordinator(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.FindCoordinatorRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if req.CoordinatorType != 0 {
		resp.ErrorCode = errCoordinatorNotAvailable
		resp.NodeID = -1
		return resp, nil
	}
	resp.NodeID = nodeID
	resp.Host, resp.Port = c.s.advertised()
	return resp, nil
}

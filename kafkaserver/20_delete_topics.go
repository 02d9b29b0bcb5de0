package kafkaserver

import "github.com/twmb/franz-go/pkg/kmsg"

// DeleteTopics 0-6, by name (a topic named only by ID is unknown).
var deleteTopicsAPI = api{key: 20, min: 0, max: 6, handle: (*conn).deleteTopics}

func (c *conn) deleteTopics(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.DeleteTopicsRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	names := req.TopicNames
	for _, t := range req.Topics {
		if t.Topic != nil {
			names = append(names, *t.Topic)
		} else {
			st := kmsg.NewDeleteTopicsResponseTopic()
			st.TopicID, st.ErrorCode = t.TopicID, errUnknownTopicOrPartition
			resp.Topics = append(resp.Topics, st)
		}
	}
	for _, name := range names {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = kmsg.StringPtr(name), topicID(name)
		if err := c.s.b.DeleteTopic(name); err != nil {
			st.ErrorCode = errorCode(err)
			st.ErrorMessage = kmsg.StringPtr(err.Error())
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

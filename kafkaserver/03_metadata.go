package kafkaserver

import (
	"crypto/sha256"
	"errors"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metadata 0-12: one broker (node 0, the advertised address) leading every
// partition. A null topic list (an empty one at v0) means every topic.
var metadataAPI = api{key: 3, min: 0, max: 12, handle: (*conn).metadata}

// nodeID is the server's node ID: the only broker of its cluster.
const nodeID = 0

func (c *conn) metadata(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.MetadataRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	host, port := c.s.advertised()
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = nodeID, host, port
	resp.Brokers = []kmsg.MetadataResponseBroker{b}
	cluster := "brook"
	resp.ClusterID = &cluster
	resp.ControllerID = nodeID
	var names []string
	all := req.Topics == nil || (r.version == 0 && len(req.Topics) == 0)
	if all {
		names, _ = c.s.b.Topics()
	} else {
		for _, t := range req.Topics {
			if t.Topic != nil {
				names = append(names, *t.Topic)
			}
		}
	}
	autoCreate := c.s.opts.AutoCreateTopics && (r.version < 4 || req.AllowAutoTopicCreation)
	for _, name := range names {
		resp.Topics = append(resp.Topics, c.s.topicMetadata(name, autoCreate))
	}
	return resp, nil
}

func (s *Server) advertised() (string, int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.advHost, s.advPort
}

func (s *Server) topicMetadata(name string, autoCreate bool) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = kmsg.StringPtr(name)
	mt.TopicID = topicID(name)
	t, err := s.topic(name, autoCreate)
	if err != nil {
		mt.ErrorCode = errorCode(err)
		return mt
	}
	for p := range t.Partitions() {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.Leader, mp.LeaderEpoch = int32(p), nodeID, 0
		mp.Replicas, mp.ISR = []int32{nodeID}, []int32{nodeID}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

// topic returns the named topic, creating it with DefaultPartitions when
// autoCreate is set and it does not exist.
func (s *Server) topic(name string, autoCreate bool) (*brook.Topic, error) {
	t, err := s.b.Topic(name)
	if err == nil || !autoCreate || !errors.Is(err, brook.ErrUnknownTopic) {
		return t, err
	}
	t, err = s.b.CreateTopic(name, brook.TopicConfig{Partitions: s.opts.DefaultPartitions})
	if errors.Is(err, brook.ErrTopicExists) {
		return s.b.Topic(name)
	}
	return t, err
}

// topicID derives a stable topic ID from the name (Brook has no topic IDs;
// clients only compare them).
func topicID(name string) [16]byte {
	sum := sha256.Sum256([]byte("brook-topic:" + name))
	var id [16]byte
	copy(id[:], sum[:16])
	return id
}

package kafkaserver

import (
	"fmt"
	"strconv"
	"time"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopics 0-7. Replication factors above 1 are refused (one node).
// Configs understood: retention.ms, retention.bytes, max.message.bytes;
// others are refused with INVALID_CONFIG.
var createTopicsAPI = api{key: 19, min: 0, max: 7, handle: (*conn).createTopics}

func (c *conn) createTopics(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.CreateTopicsRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic, st.TopicID = rt.Topic, topicID(rt.Topic)
		code, msg := c.s.createTopic(rt, req.ValidateOnly)
		st.ErrorCode = code
		if msg != "" {
			st.ErrorMessage = kmsg.StringPtr(msg)
		}
		if code == errNone {
			if t, err := c.s.b.Topic(rt.Topic); err == nil {
				st.NumPartitions = int32(t.Partitions())
			} else {
				st.NumPartitions = rt.NumPartitions
			}
			st.ReplicationFactor = 1
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func (s *Server) createTopic(rt kmsg.CreateTopicsRequestTopic, validateOnly bool) (int16, string) {
	if rt.ReplicationFactor > 1 {
		return errInvalidReplicationFactor, "brook is a single node: replication factor must be 1 or -1"
	}
	if len(rt.ReplicaAssignment) > 0 {
		return errInvalidPartitions, "manual replica assignment is not supported"
	}
	cfg := brook.TopicConfig{Partitions: int(rt.NumPartitions)}
	if rt.NumPartitions <= 0 {
		if rt.NumPartitions != -1 {
			return errInvalidPartitions, fmt.Sprintf("invalid partition count %d", rt.NumPartitions)
		}
		cfg.Partitions = s.opts.DefaultPartitions
	}
	for _, kv := range rt.Configs {
		if err := applyTopicConfig(&cfg, kv.Name, kv.Value); err != nil {
			return errInvalidConfig, err.Error()
		}
	}
	if validateOnly {
		if _, err := s.b.Topic(rt.Topic); err == nil {
			return errTopicAlreadyExists, ""
		}
		return errNone, ""
	}
	if _, err := s.b.CreateTopic(rt.Topic, cfg); err != nil {
		if code := errorCode(err); code == errUnknownTopicOrPartition {
			return errInvalidPartitions, err.Error()
		} else {
			return code, err.Error()
		}
	}
	return errNone, ""
}

// applyTopicConfig sets one Kafka topic config on cfg.
func applyTopicConfig(cfg *brook.TopicConfig, name string, value *string) error {
	if value == nil {
		return nil
	}
	n, err := strconv.ParseInt(*value, 10, 64)
	switch name {
	case "cleanup.policy":
		if *value != "delete" {
			return fmt.Errorf("cleanup.policy %q: only delete is supported", *value)
		}
		return nil
	case "retention.ms":
		if err == nil && n >= -1 {
			cfg.RetentionAge = time.Duration(max(n, 0)) * time.Millisecond
			return nil
		}
	case "retention.bytes":
		if err == nil && n >= -1 {
			cfg.RetentionBytes = max(n, 0)
			return nil
		}
	case "max.message.bytes":
		if err == nil && n > 0 && n <= 1<<30 {
			cfg.MaxMessageBytes = int(n)
			return nil
		}
	default:
		return fmt.Errorf("config %q is not supported", name)
	}
	return fmt.Errorf("config %s: invalid value %q", name, *value)
}

package kafkaserver

import (
	"slices"
	"strconv"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeConfigs 0-4: for a topic, the configs Brook has (cleanup.policy,
// retention.ms, retention.bytes, max.message.bytes); for the broker, none.
var describeConfigsAPI = api{key: 32, min: 0, max: 4, handle: (*conn).describeConfigs}

func (c *conn) describeConfigs(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.DescribeConfigsRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			t, err := c.s.b.Topic(rr.ResourceName)
			if err != nil {
				sr.ErrorCode = errorCode(err)
				break
			}
			for _, kv := range topicConfigs(t.Config()) {
				if rr.ConfigNames != nil && !slices.Contains(rr.ConfigNames, kv.Name) {
					continue
				}
				sr.Configs = append(sr.Configs, kv)
			}
		case kmsg.ConfigResourceTypeBroker:
		default:
			sr.ErrorCode = errInvalidConfig
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func topicConfigs(cfg brook.TopicConfig) []kmsg.DescribeConfigsResponseResourceConfig {
	retention := int64(-1)
	if cfg.RetentionAge > 0 {
		retention = cfg.RetentionAge.Milliseconds()
	}
	bytes := int64(-1)
	if cfg.RetentionBytes > 0 {
		bytes = cfg.RetentionBytes
	}
	entry := func(name, value string, isDefault bool) kmsg.DescribeConfigsResponseResourceConfig {
		kv := kmsg.NewDescribeConfigsResponseResourceConfig()
		kv.Name, kv.Value, kv.IsDefault = name, kmsg.StringPtr(value), isDefault
		kv.Source = kmsg.ConfigSourceDynamicTopicConfig
		if isDefault {
			kv.Source = kmsg.ConfigSourceDefaultConfig
		}
		return kv
	}
	return []kmsg.DescribeConfigsResponseResourceConfig{
		entry("cleanup.policy", "delete", true),
		entry("retention.ms", strconv.FormatInt(retention, 10), retention == -1),
		entry("retention.bytes", strconv.FormatInt(bytes, 10), bytes == -1),
		entry("max.message.bytes", strconv.Itoa(cfg.MaxMessageBytes), false),
	}
}

package kafkaserver

import "github.com/twmb/franz-go/pkg/kmsg"

const apiVersionsKey = 18

// ApiVersions 0-3: the table of served APIs. A request of a higher version
// is answered at v0 with UNSUPPORTED_VERSION and the table, as Kafka does,
// so the client retries at a version both sides know.
var apiVersionsAPI = api{key: apiVersionsKey, min: 0, max: 3, handle: (*conn).apiVersions}

func (c *conn) apiVersions(r *request) (kmsg.Response, error) {
	if _, ok := r.body.(*kmsg.ApiVersionsRequest); !ok {
		return nil, errWrongBody(r)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = r.version
	resp.ApiKeys = c.s.apis.versions()
	return resp, nil
}

func (c *conn) apiVersionsUnsupported() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = errUnsupportedVersion
	resp.ApiKeys = c.s.apis.versions()
	return resp
}

func (t *apiTable) versions() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(t.sorted))
	for _, a := range t.sorted {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
		keys = append(keys, k)
	}
	return keys
}

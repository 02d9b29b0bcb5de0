package kafkaserver

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// request is one decoded request frame.
type request struct {
	key, version int16
	corr         int32
	clientID     string
	body         kmsg.Request // nil when unsupported is set
	// unsupported marks an ApiVersions request of a version above the
	// served range: it is answered with v0 and UNSUPPORTED_VERSION.
	unsupported bool
	// frame, when set, is the pooled buffer body was decoded from (see
	// readFrame); the handler releases it once nothing refers to it.
	frame []byte
}

// parseRequest decodes a frame (without its size prefix): the request
// header (v1, or v2 with tagged fields for flexible versions) and the body.
// It refuses unknown API keys and versions outside the served range, except
// ApiVersions, which Kafka answers at any version. It never panics.
func parseRequest(frame []byte, apis *apiTable) (*request, error) {
	if len(frame) < 10 {
		return nil, fmt.Errorf("%w: %d-byte header", errFrame, len(frame))
	}
	r := &request{
		key:     int16(binary.BigEndian.Uint16(frame[0:])),
		version: int16(binary.BigEndian.Uint16(frame[2:])),
		corr:    int32(binary.BigEndian.Uint32(frame[4:])),
	}
	rest := frame[8:]
	n := int16(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if n > 0 {
		if int(n) > len(rest) {
			return nil, fmt.Errorf("%w: client ID past the frame", errFrame)
		}
		r.clientID, rest = string(rest[:n]), rest[n:]
	}
	a, ok := apis.lookup(r.key)
	if !ok {
		return nil, fmt.Errorf("%w: API key %d not served", errFrame, r.key)
	}
	if r.version < a.min || r.version > a.max {
		if r.key == apiVersionsKey && r.version > a.max {
			r.unsupported = true
			return r, nil
		}
		return nil, fmt.Errorf("%w: API key %d version %d not served (%d-%d)", errFrame, r.key, r.version, a.min, a.max)
	}
	body := kmsg.RequestForKey(r.key)
	body.SetVersion(r.version)
	if body.IsFlexible() {
		var err error
		if rest, err = skipTags(rest); err != nil {
			return nil, err
		}
	}
	if err := body.ReadFrom(rest); err != nil {
		return nil, fmt.Errorf("%w: API key %d v%d: %v", errFrame, r.key, r.version, err)
	}
	r.body = body
	return r, nil
}

// skipTags skips a tagged-field section: a count, then per field a tag, a
// size and that many bytes, all unsigned varints.
func skipTags(b []byte) ([]byte, error) {
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)) {
		return nil, fmt.Errorf("%w: tagged fields", errFrame)
	}
	b = b[k:]
	for range count {
		if _, k = binary.Uvarint(b); k <= 0 {
			return nil, fmt.Errorf("%w: tag", errFrame)
		}
		b = b[k:]
		size, k := binary.Uvarint(b)
		if k <= 0 || size > uint64(len(b)-k) {
			return nil, fmt.Errorf("%w: tag size", errFrame)
		}
		b = b[k+int(size):]
	}
	return b, nil
}

// appendResponse appends the size-prefixed frame of resp: the response
// header (v1 with an empty tag section for flexible versions, except
// ApiVersions, whose response header is always v0) and the body.
func appendResponse(dst []byte, req *request, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(req.corr))
	if resp.IsFlexible() && resp.Key() != apiVersionsKey {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

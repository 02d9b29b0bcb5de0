package gcppubsub

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brookmq/brook"
)

// maxSubscriptionID is Pub/Sub's limit on a subscription ID's length.
const maxSubscriptionID = 255

// SubscriptionID returns the Pub/Sub subscription ID of group on topic:
// "b~GROUP~TOPIC". Brook names never contain "~", so no two pairs share an
// ID. Past 255 characters the tail is replaced by "+" and 32 hex digits of
// the whole ID's SHA-256; "+" cannot occur in a shorter ID, so a hashed ID
// never equals an unhashed one.
func SubscriptionID(group, topic string) string {
	id := "b~" + group + "~" + topic
	if len(id) <= maxSubscriptionID {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	h := hex.EncodeToString(sum[:16])
	return id[:maxSubscriptionID-1-len(h)] + "+" + h
}

// Attributes this package adds to every message; a header with the prefix
// is refused.
const (
	reservedPrefix = "brook.gcp."
	attrTimestamp  = reservedPrefix + "ts"    // the message's Timestamp, Unix milliseconds
	attrKeyBase64  = reservedPrefix + "key64" // "1": the ordering key is the base64 of a non-UTF-8 key
)

// errUnsupported wraps errors.ErrUnsupported with what was asked.
func errUnsupported(format string, args ...any) error {
	return fmt.Errorf("gcppubsub: %s: %w", fmt.Sprintf(format, args...), errors.ErrUnsupported)
}

// encodeKey returns the ordering key for a Brook key, and whether it is
// base64 (for a key that is not UTF-8, since ordering keys are strings).
func encodeKey(key []byte) (string, bool) {
	if utf8.Valid(key) {
		return string(key), false
	}
	return base64.StdEncoding.EncodeToString(key), true
}

// attributes returns m's headers and timestamp as Pub/Sub attributes. Pub/Sub
// attributes are unique UTF-8 strings: repeated keys, binary values and the
// reserved prefix are errors.ErrUnsupported.
func attributes(m *brook.Message, b64 bool) (map[string]string, error) {
	attrs := make(map[string]string, len(m.Headers)+2)
	for _, h := range m.Headers {
		switch {
		case strings.HasPrefix(h.Key, reservedPrefix):
			return nil, errUnsupported("header %q: the prefix %q is reserved", h.Key, reservedPrefix)
		case !utf8.ValidString(h.Key) || !utf8.Valid(h.Value):
			return nil, errUnsupported("header %q: attributes are UTF-8 strings", h.Key)
		}
		if _, dup := attrs[h.Key]; dup {
			return nil, errUnsupported("header %q repeated: attributes are unique", h.Key)
		}
		attrs[h.Key] = string(h.Value)
	}
	attrs[attrTimestamp] = strconv.FormatInt(m.Timestamp.UnixMilli(), 10)
	if b64 {
		attrs[attrKeyBase64] = "1"
	}
	return attrs, nil
}

// decode fills a delivered message's key, headers and timestamp from the
// ordering key and attributes; publishTime is the fallback timestamp for a
// message that another publisher sent.
func decode(m *brook.Message, orderingKey string, attrs map[string]string, publishTime time.Time) {
	if orderingKey != "" {
		m.Key = []byte(orderingKey)
		if attrs[attrKeyBase64] == "1" {
			if k, err := base64.StdEncoding.DecodeString(orderingKey); err == nil {
				m.Key = k
			}
		}
	}
	m.Timestamp = publishTime
	if ms, err := strconv.ParseInt(attrs[attrTimestamp], 10, 64); err == nil {
		m.Timestamp = time.UnixMilli(ms)
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if !strings.HasPrefix(k, reservedPrefix) {
			m.Headers = append(m.Headers, brook.Header{Key: k, Value: []byte(attrs[k])})
		}
	}
}

package kafkaserver

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// requestFrame is the frame (without its size) a client sends for req.
func requestFrame(req kmsg.Request, version int16) []byte {
	req.SetVersion(version)
	b := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint16(b, 4)
	b = append(b, "fuzz"...)
	if req.IsFlexible() {
		b = append(b, 0)
	}
	return req.AppendTo(b)
}

// FuzzParseRequest feeds arbitrary frames to the request decoder: it must
// return a request or an error, never panic, for every served API.
func FuzzParseRequest(f *testing.F) {
	apis := newAPITable(true)
	for _, a := range apis.sorted {
		for _, v := range []int16{a.min, a.max} {
			f.Add(requestFrame(kmsg.RequestForKey(a.key), v))
		}
	}
	f.Add(requestFrame(produceReq("t", 0, encodeBatch(f, sampleMessages(2), codecGzip)), 9))
	f.Add(requestFrame(fetchReq("t", 0, 0, 0), 12))
	f.Fuzz(func(t *testing.T, frame []byte) {
		r, err := parseRequest(frame, apis)
		if err == nil && r.body == nil && !r.unsupported {
			t.Fatal("no body and no error")
		}
	})
}

// FuzzDecodeBatches feeds arbitrary Produce records to the batch decoder:
// it must return messages or an error, never panic, and never return more
// than the decompression limit allows.
func FuzzDecodeBatches(f *testing.F) {
	d := newDecoders()
	defer d.close()
	for _, codec := range []int{codecNone, codecGzip, codecSnappy, codecLZ4, codecZstd} {
		f.Add(encodeBatch(f, sampleMessages(3), codec))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		msgs, _, _, err := d.decodeBatches(raw, "t", 0, 1<<16)
		if err != nil {
			return
		}
		n := 0
		for _, m := range msgs {
			n += len(m.Key) + len(m.Value)
		}
		if n > 1<<16+len(raw) {
			t.Fatalf("%d bytes of messages from %d bytes", n, len(raw))
		}
	})
}

// FuzzSubscribedTopics feeds arbitrary JoinGroup metadata to the
// subscription reader: topics or false, never a panic.
func FuzzSubscribedTopics(f *testing.F) {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"a", "bb"}
	f.Add(meta.AppendTo(nil))
	meta.Version = 3
	f.Add(meta.AppendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		topics, ok := subscribedTopics(b)
		if ok && len(topics) > len(b) {
			t.Fatalf("%d topics from %d bytes", len(topics), len(b))
		}
	})
}

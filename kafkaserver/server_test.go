package kafkaserver

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestApiVersions(t *testing.T) {
	_, _, addr := startServer(t, nil)
	c := dial(t, addr)
	for v := int16(0); v <= 3; v++ {
		resp := do[*kmsg.ApiVersionsResponse](c, v, kmsg.NewPtrApiVersionsRequest())
		assert.Equal(t, errNone, resp.ErrorCode, "v%d", v)
		keys := map[int16]kmsg.ApiVersionsResponseApiKey{}
		for _, k := range resp.ApiKeys {
			keys[k.ApiKey] = k
		}
		assert.Equal(t, int16(9), keys[0].MaxVersion)
		assert.Equal(t, int16(3), keys[apiVersionsKey].MaxVersion)
		assert.Equal(t, int16(4), keys[22].MaxVersion, "idempotent producers are served")
		assert.NotContains(t, keys, int16(saslHandshakeKey), "SASL is not configured")
	}
	// A version above the served range is answered at v0 with UNSUPPORTED_VERSION.
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(7)
	resp := &kmsg.ApiVersionsResponse{Version: 0}
	require.NoError(t, c.recv(c.send(req), resp))
	assert.Equal(t, errUnsupportedVersion, resp.ErrorCode)
	assert.NotEmpty(t, resp.ApiKeys)
}

func createTopic(t *testing.T, c *client, name string, partitions int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, -1
	req.Topics = append(req.Topics, rt)
	resp := do[*kmsg.CreateTopicsResponse](c, 7, req)
	require.Len(t, resp.Topics, 1)
	require.Equal(t, errNone, resp.Topics[0].ErrorCode)
	require.Equal(t, partitions, resp.Topics[0].NumPartitions)
}

func TestTopicsAndMetadata(t *testing.T) {
	b, _, addr := startServer(t, nil)
	c := dial(t, addr)
	createTopic(t, c, "orders", 3)
	tp, err := b.Topic("orders")
	require.NoError(t, err)
	assert.Equal(t, 3, tp.Partitions())

	again := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "orders", 3, 3
	again.Topics = append(again.Topics, rt)
	rt.Topic, rt.ReplicationFactor = "bad/name", 1
	again.Topics = append(again.Topics, rt)
	cr := do[*kmsg.CreateTopicsResponse](c, 4, again)
	assert.Equal(t, errInvalidReplicationFactor, cr.Topics[0].ErrorCode)
	assert.Equal(t, errInvalidTopic, cr.Topics[1].ErrorCode)

	for _, v := range []int16{0, 1, 4, 9, 12} {
		md := do[*kmsg.MetadataResponse](c, v, kmsg.NewPtrMetadataRequest())
		require.Len(t, md.Brokers, 1, "v%d", v)
		host, port, _ := net.SplitHostPort(addr)
		assert.Equal(t, host, md.Brokers[0].Host)
		assert.Equal(t, port, strconv.Itoa(int(md.Brokers[0].Port)))
		require.Len(t, md.Topics, 1, "v%d", v)
		assert.Equal(t, "orders", *md.Topics[0].Topic)
		assert.Len(t, md.Topics[0].Partitions, 3)
	}
	req := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("missing")
	req.Topics = append(req.Topics, mt)
	md := do[*kmsg.MetadataResponse](c, 9, req)
	assert.Equal(t, errUnknownTopicOrPartition, md.Topics[0].ErrorCode)

	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TopicNames = []string{"orders", "missing"}
	dr := do[*kmsg.DeleteTopicsResponse](c, 4, del)
	assert.Equal(t, errNone, dr.Topics[0].ErrorCode)
	assert.Equal(t, errUnknownTopicOrPartition, dr.Topics[1].ErrorCode)
	_, err = b.Topic("orders")
	assert.ErrorIs(t, err, brook.ErrUnknownTopic)
}

func produceReq(topic string, partition int32, batch []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func fetchReq(topic string, partition int32, offset int64, wait time.Duration) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = int32(wait.Milliseconds()), 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// fetched decodes the records of a Fetch partition.
func fetched(t *testing.T, sp kmsg.FetchResponseTopicPartition) []kmsg.Record {
	t.Helper()
	var out []kmsg.Record
	raw := sp.RecordBatches
	for len(raw) > 0 {
		var b kmsg.RecordBatch
		n := 12 + int(binary.BigEndian.Uint32(raw[8:]))
		require.NoError(t, b.ReadFrom(raw[:n]))
		raw = raw[n:]
		recs := b.Records
		for range b.NumRecords {
			l, k := binary.Varint(recs)
			var r kmsg.Record
			require.NoError(t, r.ReadFrom(recs[:k+int(l)]))
			r.OffsetDelta += int32(b.FirstOffset) // absolute offset, for the checks
			r.TimestampDelta64 += b.FirstTimestamp
			out = append(out, r)
			recs = recs[k+int(l):]
		}
	}
	return out
}

func TestProduceFetchEveryCodec(t *testing.T) {
	b, _, addr := startServer(t, nil)
	c := dial(t, addr)
	createTopic(t, c, "events", 2)
	want := sampleMessages(6)
	next := int64(0)
	for _, codec := range []int{codecNone, codecGzip, codecSnappy, codecLZ4, codecZstd} {
		pr := do[*kmsg.ProduceResponse](c, 9, produceReq("events", 1, encodeBatch(t, want, codec)))
		sp := pr.Topics[0].Partitions[0]
		require.Equal(t, errNone, sp.ErrorCode, "codec %d", codec)
		assert.Equal(t, next, sp.BaseOffset)
		fr := do[*kmsg.FetchResponse](c, 11, fetchReq("events", 1, next, time.Second))
		fp := fr.Topics[0].Partitions[0]
		require.Equal(t, errNone, fp.ErrorCode)
		recs := fetched(t, fp)
		require.Len(t, recs, len(want))
		for i, r := range recs {
			assert.Equal(t, next+int64(i), int64(r.OffsetDelta))
			assert.Equal(t, want[i].Key, r.Key)
			assert.Equal(t, want[i].Value, r.Value)
			assert.Equal(t, want[i].Timestamp.UnixMilli(), r.TimestampDelta64)
			require.Len(t, r.Headers, len(want[i].Headers))
			for j, h := range r.Headers {
				assert.Equal(t, want[i].Headers[j].Key, h.Key)
			}
		}
		assert.Equal(t, next+int64(len(want)), fp.HighWatermark)
		next += int64(len(want))
	}
	// The records are Brook messages: an in-process read sees the same.
	m, err := b.Fetch(ctxT(t), "events", 1, 0, 1)
	require.NoError(t, err)
	assert.Equal(t, want[0].Value, m[0].Value)
	assert.Equal(t, want[0].Headers[0].Value, m[0].Headers[0].Value)
}

func TestProduceIsAllOrNothingPerPartition(t *testing.T) {
	b, _, addr := startServer(t, nil)
	c := dial(t, addr)
	createTopic(t, c, "atomic", 1)
	good := encodeBatch(t, sampleMessages(3), codecNone)
	bad := encodeBatch(t, sampleMessages(2), codecNone)
	bad[len(bad)-1] ^= 1 // CRC mismatch in the second batch
	pr := do[*kmsg.ProduceResponse](c, 7, produceReq("atomic", 0, append(good, bad...)))
	assert.Equal(t, errCorruptMessage, pr.Topics[0].Partitions[0].ErrorCode)
	tp, err := b.Topic("atomic")
	require.NoError(t, err)
	_, next, err := tp.PartitionOffsets(0)
	require.NoError(t, err)
	assert.Zero(t, next, "nothing of a refused request is written")

	pr = do[*kmsg.ProduceResponse](c, 7, produceReq("atomic", 5, good))
	assert.Equal(t, errUnknownTopicOrPartition, pr.Topics[0].Partitions[0].ErrorCode)
	pr = do[*kmsg.ProduceResponse](c, 7, produceReq("nope", 0, good))
	assert.Equal(t, errUnknownTopicOrPartition, pr.Topics[0].Partitions[0].ErrorCode)
}

func TestFetchLongPoll(t *testing.T) {
	_, _, addr := startServer(t, nil)
	c := dial(t, addr)
	createTopic(t, c, "poll", 1)

	start := time.Now()
	fr := do[*kmsg.FetchResponse](c, 11, fetchReq("poll", 0, 0, 200*time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "an empty fetch waits MaxWaitTime")
	assert.Empty(t, fr.Topics[0].Partitions[0].RecordBatches)

	// A long poll answers as soon as a record arrives from another connection.
	req := fetchReq("poll", 0, 0, 20*time.Second)
	req.SetVersion(11)
	resp := req.ResponseKind()
	resp.SetVersion(11)
	corr := c.send(req)
	p := dial(t, addr)
	pr := do[*kmsg.ProduceResponse](p, 8, produceReq("poll", 0, encodeBatch(t, sampleMessages(1), codecNone)))
	require.Equal(t, errNone, pr.Topics[0].Partitions[0].ErrorCode)
	require.NoError(t, c.recv(corr, resp))
	assert.Len(t, fetched(t, resp.(*kmsg.FetchResponse).Topics[0].Partitions[0]), 1)
	assert.Less(t, time.Since(start), 15*time.Second)

	out := do[*kmsg.FetchResponse](c, 11, fetchReq("poll", 0, 5, time.Second))
	assert.Equal(t, errOffsetOutOfRange, out.Topics[0].Partitions[0].ErrorCode)
}

func TestFetchByteLimits(t *testing.T) {
	_, _, addr := startServer(t, nil)
	c := dial(t, addr)
	createTopic(t, c, "limits", 1)
	msgs := make([]brook.Message, 50)
	for i := range msgs {
		msgs[i] = brook.Message{Value: make([]byte, 1000), Timestamp: time.Now()}
	}
	do[*kmsg.ProduceResponse](c, 8, produceReq("limits", 0, encodeBatch(t, msgs, codecNone)))
	req := fetchReq("limits", 0, 0, time.Second)
	req.Topics[0].Partitions[0].PartitionMaxBytes = 5000
	fr := do[*kmsg.FetchResponse](c, 11, req)
	n := len(fetched(t, fr.Topics[0].Partitions[0]))
	assert.Greater(t, n, 0)
	assert.Less(t, n, 10, "PartitionMaxBytes bounds the records returned")
	req = fetchReq("limits", 0, 0, time.Second)
	req.Topics[0].Partitions[0].PartitionMaxBytes = 10 // below one record: still one
	fr = do[*kmsg.FetchResponse](c, 11, req)
	assert.Len(t, fetched(t, fr.Topics[0].Partitions[0]), 1)
}

func TestListOffsets(t *testing.T) {
	_, _, addr := startServer(t, nil)
	c := dial(t, addr)
	createTopic(t, c, "times", 1)
	msgs := sampleMessages(10) // timestamps base+0ms .. base+9ms
	do[*kmsg.ProduceResponse](c, 8, produceReq("times", 0, encodeBatch(t, msgs, codecNone)))
	list := func(ts int64) kmsg.ListOffsetsResponseTopicPartition {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "times"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp = ts
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return do[*kmsg.ListOffsetsResponse](c, 4, req).Topics[0].Partitions[0]
	}
	assert.Equal(t, int64(10), list(offsetLatest).Offset)
	assert.Equal(t, int64(0), list(offsetEarliest).Offset)
	byTime := list(msgs[4].Timestamp.UnixMilli())
	assert.Equal(t, int64(4), byTime.Offset)
	assert.Equal(t, msgs[4].Timestamp.UnixMilli(), byTime.Timestamp)
	assert.Equal(t, int64(-1), list(msgs[9].Timestamp.UnixMilli()+1).Offset)
}

func TestBadFramesCloseTheConnection(t *testing.T) {
	_, _, addr := startServer(t, &Options{MaxRequestSize: 1 << 16})
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"oversized", binary.BigEndian.AppendUint32(nil, 1<<20)},
		{"negative size", binary.BigEndian.AppendUint32(nil, 0xffffffff)},
		{"short header", []byte{0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"unknown key", []byte{0, 0, 0, 10, 0x7f, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff}},
		{"unsupported version", []byte{0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff}},
		{"garbage body", append([]byte{0, 0, 0, 14, 0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0xff}, 0xff, 0xff, 0xff, 0x7f)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			_, err := c.nc.Write(tc.frame)
			require.NoError(t, err)
			assert.True(t, c.closed())
		})
	}
	// The server still serves.
	c := dial(t, addr)
	resp := do[*kmsg.ApiVersionsResponse](c, 3, kmsg.NewPtrApiVersionsRequest())
	assert.Equal(t, errNone, resp.ErrorCode)
}

func TestIdleAndConnectionLimits(t *testing.T) {
	_, _, addr := startServer(t, &Options{IdleTimeout: 100 * time.Millisecond, MaxConnections: 1})
	c := dial(t, addr)
	do[*kmsg.ApiVersionsResponse](c, 3, kmsg.NewPtrApiVersionsRequest())
	second := dial(t, addr)
	assert.True(t, second.closed(), "a connection over MaxConnections is closed")
	assert.True(t, c.closed(), "an idle connection is closed")
}

func TestShutdownEndsLongPolls(t *testing.T) {
	b, err := brook.Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer b.Close()
	_, err = b.CreateNewTopic("t", 1)
	require.NoError(t, err)
	s := New(b, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	c := dial(t, ln.Addr().String())
	do[*kmsg.ApiVersionsResponse](c, 3, kmsg.NewPtrApiVersionsRequest())
	req := fetchReq("t", 0, 0, 25*time.Second)
	req.SetVersion(11)
	corr := c.send(req)
	idle := dial(t, ln.Addr().String())
	do[*kmsg.ApiVersionsResponse](idle, 3, kmsg.NewPtrApiVersionsRequest())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Shutdown(ctx))
	resp := &kmsg.FetchResponse{Version: 11}
	require.NoError(t, c.recv(corr, resp), "the long poll is answered before the connection closes")
	assert.ErrorIs(t, <-served, ErrServerClosed)
	assert.True(t, idle.closed())
	assert.ErrorIs(t, s.ListenAndServe("127.0.0.1:0"), ErrServerClosed)
	require.NoError(t, s.Close())
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	for _, inFlight := range []int{1, 5} {
		_, _, addr := startServer(t, &Options{MaxInFlight: inFlight})
		c := dial(t, addr)
		createTopic(t, c, "pipe", 1)
		var corrs []int32
		for i := range 8 {
			req := produceReq("pipe", 0, encodeBatch(t, sampleMessages(1+i), codecNone))
			req.SetVersion(9)
			corrs = append(corrs, c.send(req))
		}
		md := kmsg.NewPtrMetadataRequest()
		md.SetVersion(9)
		mdCorr := c.send(md)
		next := int64(0)
		for i, corr := range corrs {
			resp := &kmsg.ProduceResponse{Version: 9}
			require.NoError(t, c.recv(corr, resp))
			sp := resp.Topics[0].Partitions[0]
			require.Equal(t, errNone, sp.ErrorCode)
			assert.Equal(t, next, sp.BaseOffset, "in-flight %d: produce requests are appended in order", inFlight)
			next += int64(1 + i)
		}
		require.NoError(t, c.recv(mdCorr, &kmsg.MetadataResponse{Version: 9}))
	}
}

// TestPipelinedProducesKeepTheirBytes: produce frames are read into reused
// buffers, handed back once every append of the request is acknowledged.
// Two connections pipeline produces of distinct keys, values and headers
// (the same sizes, so a buffer handed back too early would be refilled in
// place by the next request); every record fetched back is byte for byte
// what was sent.
func TestPipelinedProducesKeepTheirBytes(t *testing.T) {
	_, _, addr := startServer(t, &Options{MaxInFlight: 5})
	setup := dial(t, addr)
	createTopic(t, setup, "bytes", 2)
	const conns, reqs, per = 2, 8, 16
	want := make([][]brook.Message, conns)
	var wg sync.WaitGroup
	for ci := range conns {
		c := dial(t, addr)
		for ri := range reqs {
			msgs := make([]brook.Message, per)
			for i := range msgs {
				tag := fmt.Sprintf("c%d-r%d-m%02d", ci, ri, i)
				msgs[i] = brook.Message{Key: []byte("k-" + tag), Value: []byte("value-" + tag),
					Headers: []brook.Header{{Key: "h", Value: []byte("h-" + tag)}}, Timestamp: time.UnixMilli(1_700_000_000_000)}
			}
			want[ci] = append(want[ci], msgs...)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var corrs []int32
			for ri := range reqs {
				req := produceReq("bytes", int32(ci), encodeBatch(t, want[ci][ri*per:(ri+1)*per], codecNone))
				req.SetVersion(9)
				corrs = append(corrs, c.send(req))
			}
			for _, corr := range corrs {
				resp := &kmsg.ProduceResponse{Version: 9}
				if assert.NoError(t, c.recv(corr, resp)) {
					assert.Equal(t, errNone, resp.Topics[0].Partitions[0].ErrorCode)
				}
			}
		}()
	}
	wg.Wait()
	for ci := range conns {
		fr := do[*kmsg.FetchResponse](setup, 11, fetchReq("bytes", int32(ci), 0, time.Second))
		recs := fetched(t, fr.Topics[0].Partitions[0])
		require.Len(t, recs, reqs*per)
		for i, r := range recs {
			assert.Equal(t, string(want[ci][i].Key), string(r.Key))
			assert.Equal(t, string(want[ci][i].Value), string(r.Value))
			require.Len(t, r.Headers, 1)
			assert.Equal(t, string(want[ci][i].Headers[0].Value), string(r.Headers[0].Value))
		}
	}
}

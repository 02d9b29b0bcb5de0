package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// nullKafkaSystem is the ceiling of the two Kafka systems: the same kgo
// client and settings (see kafkaInstance) against a server that does no
// storage work. nullServer answers the few APIs kgo needs here; a Produce
// is acknowledged with offsets from a per-partition counter and its
// records are dropped; a Fetch gets, for every partition behind the
// counter, a copy of one record batch kept from the produce run (the one
// with the most records), its base offset set to the offset asked for.
// It still reads and decodes every request and encodes every response, so
// what is left is the client, the protocol, the loopback TCP and the Go
// runtime: no server that stores or serves records can beat it on this
// machine, and a system's distance to it is what its server costs.
//
// A fetch near the end of a partition gets a whole batch even past the
// counter, so the consume ceiling may count up to one batch per partition
// more than a real log would serve (the consumer stops at the count).
type nullKafkaSystem struct{}

func (nullKafkaSystem) name() string { return "kgo-null" }

func (nullKafkaSystem) mode(w workload, _ Config) string {
	switch w {
	case latencyDurable:
		return "" // it serves a kept batch, not what was produced
	case consumeAll:
		return "ceiling: a server serving one kept batch, kgo direct partition consumption"
	}
	return "ceiling: a server acking without storing, kgo acks=all"
}

func (nullKafkaSystem) start(ctx context.Context, _ string, _ bool, c Config) (instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &nullServer{ln: ln, next: make([]int64, c.Partitions), conns: map[net.Conn]struct{}{}}
	s.wg.Go(s.serve)
	return connectKafka(ctx, []string{ln.Addr().String()}, c.Partitions, s.close)
}

// nullServer is the ceiling's Kafka server: one broker, one topic.
type nullServer struct {
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	next  []int64 // each partition's next offset
	batch []byte  // the produced batch with the most records, copied
	count int32   // its record count
}

func (s *nullServer) close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *nullServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		})
	}
}

// nullVersions is what the ceiling serves: key, min, max.
var nullVersions = [][3]int16{
	{int16(kmsg.Produce), 3, 9}, {int16(kmsg.Fetch), 4, 12}, {int16(kmsg.ListOffsets), 1, 6},
	{int16(kmsg.Metadata), 1, 12}, {int16(kmsg.ApiVersions), 0, 3}, {int16(kmsg.InitProducerID), 0, 4},
}

// serveConn answers one connection's requests in order until it fails.
func (s *nullServer) serveConn(c net.Conn) {
	br := bufio.NewReaderSize(c, 64<<10)
	var out []byte
	for {
		var size [4]byte
		if _, err := io.ReadFull(br, size[:]); err != nil {
			return
		}
		frame := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(br, frame); err != nil {
			return
		}
		key, corr, resp, err := s.handle(frame)
		if err != nil {
			return
		}
		out = append(out[:0], 0, 0, 0, 0)
		out = binary.BigEndian.AppendUint32(out, uint32(corr))
		if resp.IsFlexible() && key != int16(kmsg.ApiVersions) {
			out = append(out, 0) // response header tags
		}
		out = resp.AppendTo(out)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// handle decodes one request frame and returns its key, correlation ID
// and response.
func (s *nullServer) handle(frame []byte) (int16, int32, kmsg.Response, error) {
	if len(frame) < 10 {
		return 0, 0, nil, errors.New("short frame")
	}
	key, version := int16(binary.BigEndian.Uint16(frame)), int16(binary.BigEndian.Uint16(frame[2:]))
	corr := int32(binary.BigEndian.Uint32(frame[4:]))
	idLen := int(int16(binary.BigEndian.Uint16(frame[8:])))
	rest := frame[10+max(idLen, 0):]
	req := kmsg.RequestForKey(key)
	if req == nil {
		return 0, 0, nil, fmt.Errorf("key %d", key)
	}
	if key == int16(kmsg.ApiVersions) {
		version = min(version, 3)
	}
	req.SetVersion(version)
	if req.IsFlexible() {
		if len(rest) < 1 || rest[0] != 0 {
			return 0, 0, nil, errors.New("request header tags")
		}
		rest = rest[1:]
	}
	if err := req.ReadFrom(rest); err != nil {
		return 0, 0, nil, err
	}
	switch r := req.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
		for _, v := range nullVersions {
			k := kmsg.NewApiVersionsResponseApiKey()
			k.ApiKey, k.MinVersion, k.MaxVersion = v[0], v[1], v[2]
			resp.ApiKeys = append(resp.ApiKeys, k)
		}
		return key, corr, resp, nil
	case *kmsg.MetadataRequest:
		return key, corr, s.metadata(r), nil
	case *kmsg.InitProducerIDRequest:
		resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ProducerID = 1
		return key, corr, resp, nil
	case *kmsg.ListOffsetsRequest:
		return key, corr, s.listOffsets(r), nil
	case *kmsg.ProduceRequest:
		return key, corr, s.produce(r), nil
	case *kmsg.FetchRequest:
		return key, corr, s.fetch(r), nil
	}
	return 0, 0, nil, fmt.Errorf("key %d not served", key)
}

func (s *nullServer) metadata(req *kmsg.MetadataRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	host, port, _ := net.SplitHostPort(s.ln.Addr().String())
	p, _ := strconv.Atoi(port)
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = 0, host, int32(p)
	resp.Brokers = []kmsg.MetadataResponseBroker{b}
	t := kmsg.NewMetadataResponseTopic()
	t.Topic = kmsg.StringPtr(topicName)
	for i := range s.next {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.Leader, mp.Replicas, mp.ISR = int32(i), 0, []int32{0}, []int32{0}
		t.Partitions = append(t.Partitions, mp)
	}
	resp.Topics = []kmsg.MetadataResponseTopic{t}
	return resp
}

func (s *nullServer) listOffsets(req *kmsg.ListOffsetsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition, sp.Offset = rp.Partition, 0 // the start, unless latest is asked
			if p := int(rp.Partition); p >= 0 && p < len(s.next) && rp.Timestamp == -1 {
				sp.Offset = s.next[p]
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (s *nullServer) produce(req *kmsg.ProduceRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			if p := int(rp.Partition); p >= 0 && p < len(s.next) {
				sp.BaseOffset = s.next[p]
				s.next[p] += s.keep(rp.Records)
			} else {
				sp.ErrorCode = unknownTopicOrPartition
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// unknownTopicOrPartition is Kafka's UNKNOWN_TOPIC_OR_PARTITION error code.
const unknownTopicOrPartition = 3

// Record batch header fields (magic 2) that the ceiling reads or sets.
const (
	nullBatchLengthAt = 8  // int32: bytes after this field
	nullBatchCountAt  = 57 // int32: record count
	nullBatchHeader   = 61
)

// keep returns the records in the batches of raw and keeps the first
// batch when it has more records than the one kept.
func (s *nullServer) keep(raw []byte) int64 {
	var total int64
	for first := true; len(raw) >= nullBatchHeader; first = false {
		size := 12 + int(int32(binary.BigEndian.Uint32(raw[nullBatchLengthAt:])))
		if size < nullBatchHeader || size > len(raw) {
			break
		}
		count := int32(binary.BigEndian.Uint32(raw[nullBatchCountAt:]))
		total += int64(count)
		if first && count > s.count {
			s.batch, s.count = append(s.batch[:0], raw[:size]...), count
		}
		raw = raw[size:]
	}
	return total
}

func (s *nullServer) fetch(req *kmsg.FetchRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.RecordBatches = []byte{}
			p := int(rp.Partition)
			if p < 0 || p >= len(s.next) {
				sp.ErrorCode = unknownTopicOrPartition
			} else {
				sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = s.next[p], s.next[p], 0
				if rp.FetchOffset < s.next[p] && s.batch != nil {
					b := append([]byte(nil), s.batch...)
					binary.BigEndian.PutUint64(b, uint64(rp.FetchOffset)) // the CRC does not cover it
					sp.RecordBatches = b
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

package kafkaserver

import (
	"math"
	"testing"

	"github.com/brookmq/brook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestIdempotenceSequences(t *testing.T) {
	id := newIdempotence()
	tp := brook.TopicPartition{Topic: "t"}
	pid, epoch, code := id.init(-1, -1)
	require.Equal(t, errNone, code)
	assert.Equal(t, int16(0), epoch)

	a := id.admit(pid, 0, tp, 0, 3)
	require.Equal(t, errNone, a.code)
	dup := id.admit(pid, 0, tp, 0, 3)
	assert.Equal(t, errDuplicateSequence, dup.code, "a retry while the first is in flight")
	id.done(a, 10, nil)
	dup = id.admit(pid, 0, tp, 0, 3)
	assert.True(t, dup.dup)
	assert.Equal(t, errNone, dup.code)
	assert.Equal(t, int64(10), dup.offset, "a retry after the ack gets the first offset")
	assert.Equal(t, errOutOfOrderSequence, id.admit(pid, 0, tp, 5, 1).code, "a gap")
	assert.Equal(t, errInvalidProducerEpoch, id.admit(pid, 1, tp, 3, 1).code)
	assert.Equal(t, errUnknownProducerID, id.admit(pid+1000, 0, tp, 0, 1).code)

	b := id.admit(pid, 0, tp, 3, 2)
	require.Equal(t, errNone, b.code)
	id.done(b, -1, assert.AnError)
	assert.Equal(t, errOutOfOrderSequence, id.admit(pid, 0, tp, 5, 1).code, "a failed append poisons what follows")

	same, next, code := id.init(pid, 0) // KIP-360 epoch bump resets the sequences
	require.Equal(t, errNone, code)
	assert.Equal(t, pid, same)
	assert.Equal(t, int16(1), next)
	assert.Equal(t, errNone, id.admit(pid, 1, tp, 0, 1).code)
	_, _, code = id.init(pid, 0)
	assert.Equal(t, errInvalidProducerEpoch, code)

	assert.Equal(t, int32(0), addSeq(math.MaxInt32, 1), "sequences wrap to 0")
	assert.Equal(t, int32(5), addSeq(1, 4))
}

func TestProduceIdempotent(t *testing.T) {
	b, _, addr := startServer(t, nil)
	c := dial(t, addr)
	createTopic(t, c, "idem", 1)
	ip := do[*kmsg.InitProducerIDResponse](c, 4, kmsg.NewPtrInitProducerIDRequest())
	require.Equal(t, errNone, ip.ErrorCode)
	send := func(seq int32) kmsg.ProduceResponseTopicPartition {
		batch := idempotentBatch(t, sampleMessages(2), ip.ProducerID, ip.ProducerEpoch, seq)
		return do[*kmsg.ProduceResponse](c, 9, produceReq("idem", 0, batch)).Topics[0].Partitions[0]
	}
	first := send(0)
	require.Equal(t, errNone, first.ErrorCode)
	retry := send(0)
	assert.Equal(t, errNone, retry.ErrorCode)
	assert.Equal(t, first.BaseOffset, retry.BaseOffset, "a retried batch is not written twice")
	assert.Equal(t, errNone, send(2).ErrorCode)
	assert.Equal(t, errOutOfOrderSequence, send(7).ErrorCode)
	tp, err := b.Topic("idem")
	require.NoError(t, err)
	_, next, err := tp.PartitionOffsets(0)
	require.NoError(t, err)
	assert.Equal(t, int64(4), next)

	txn := kmsg.NewPtrInitProducerIDRequest()
	txn.TransactionalID = kmsg.StringPtr("tx")
	assert.Equal(t, errTransactionalIDAuthFailed, do[*kmsg.InitProducerIDResponse](c, 4, txn).ErrorCode)
}

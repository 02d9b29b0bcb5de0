package exchange

import (
	"testing"

	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each message goes to one partition of a one-partition exchange, so the
// bodies a queue receives up to the last one expected are everything it
// would ever get of what came before: a list equal to the expected one
// shows that nothing else was delivered.

func TestDirect(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		conn := openConn(t, c)
		require.NoError(t, conn.ExchangeDeclare(t.Context(), "d", Direct, ExchangeOptions{}))
		declareQueue(t, conn, "qa", [2]string{"d", "a"})
		declareQueue(t, conn, "qb", [2]string{"d", "b"})
		declareQueue(t, conn, "qab", [2]string{"d", "a"}, [2]string{"d", "b"})
		qa, qb, qab := consume(t, conn, "qa"), consume(t, conn, "qb"), consume(t, conn, "qab")
		for _, m := range [][2]string{{"a", "a1"}, {"b", "b1"}, {"c", "c1"}, {"a", "a2"}, {"b", "b2"}} {
			publish(t, conn, "d", m[0], m[1])
		}
		assert.Equal(t, []string{"a1", "a2"}, qa.waitLast(t, "a2"))
		assert.Equal(t, []string{"b1", "b2"}, qb.waitLast(t, "b2"))
		assert.Equal(t, []string{"a1", "b1", "a2", "b2"}, qab.waitLast(t, "b2"))

		qa.mu.Lock()
		m := qa.msgs[0]
		qa.mu.Unlock()
		assert.Equal(t, "a", RoutingKey(m))
		assert.Equal(t, "d", ExchangeName(m))
		assert.Equal(t, "a", string(m.Key))
	})
}

func TestFanout(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		conn := openConn(t, c)
		require.NoError(t, conn.ExchangeDeclare(t.Context(), "f", Fanout, ExchangeOptions{}))
		declareQueue(t, conn, "q1", [2]string{"f", ""})
		declareQueue(t, conn, "q2", [2]string{"f", "whatever"})
		declareQueue(t, conn, "other")
		q1, q2, other := consume(t, conn, "q1"), consume(t, conn, "q2"), consume(t, conn, "other")
		publish(t, conn, "f", "x", "m1")
		publish(t, conn, "f", "", "m2")
		end, err := c.EndOffsets(t.Context(), "x.f")
		require.NoError(t, err)
		assert.Equal(t, []int64{2}, end, "one append per publish, whatever the number of queues")
		assert.Equal(t, []string{"m1", "m2"}, q1.waitLast(t, "m2"))
		assert.Equal(t, []string{"m1", "m2"}, q2.waitLast(t, "m2"))
		publish(t, conn, "", "other", "direct")
		assert.Equal(t, []string{"direct"}, other.waitLast(t, "direct"), "an unbound queue gets nothing of the fanout")
	})
}

func TestTopicPatterns(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		conn := openConn(t, c)
		require.NoError(t, conn.ExchangeDeclare(t.Context(), "t", Topic, ExchangeOptions{}))
		declareQueue(t, conn, "orange", [2]string{"t", "*.orange.*"})
		declareQueue(t, conn, "rabbit", [2]string{"t", "*.*.rabbit"}, [2]string{"t", "lazy.#"})
		orange, rabbit := consume(t, conn, "orange"), consume(t, conn, "rabbit")
		keys := []string{"quick.orange.rabbit", "lazy.orange.elephant", "quick.orange.fox", "lazy.brown.fox",
			"lazy.pink.rabbit", "quick.brown.fox", "orange", "quick.orange.male.rabbit", "lazy", "lazy.orange.male.rabbit"}
		for _, k := range keys {
			publish(t, conn, "t", k, k)
		}
		publish(t, conn, "t", "end.orange.rabbit", "end")
		// RabbitMQ's tutorial 5, with its answers.
		assert.Equal(t, []string{"quick.orange.rabbit", "lazy.orange.elephant", "quick.orange.fox", "end"}, orange.waitLast(t, "end"))
		assert.Equal(t, []string{"quick.orange.rabbit", "lazy.orange.elephant", "lazy.brown.fox", "lazy.pink.rabbit",
			"lazy", "lazy.orange.male.rabbit", "end"}, rabbit.waitLast(t, "end"),
			"lazy.pink.rabbit matches both bindings and comes once")
	})
}

func TestOnceOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		conn := openConn(t, c)
		require.NoError(t, conn.ExchangeDeclare(t.Context(), "t", Topic, ExchangeOptions{}))
		declareQueue(t, conn, "q", [2]string{"t", "a.*"}, [2]string{"t", "#"}, [2]string{"t", "a.b"}, [2]string{"t", "*.b"})
		require.NoError(t, conn.QueueBind(t.Context(), "q", "a.b", "t"), "idempotent")
		assert.Len(t, conn.Bindings("q"), 4)
		q := consume(t, conn, "q")
		publish(t, conn, "t", "a.b", "four bindings match")
		publish(t, conn, "t", "z", "end")
		assert.Equal(t, []string{"four bindings match", "end"}, q.waitLast(t, "end"))
	})
}

func TestDefaultExchange(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		conn := openConn(t, c)
		declareQueue(t, conn, "q1")
		declareQueue(t, conn, "q2")
		q1, q2 := consume(t, conn, "q1"), consume(t, conn, "q2")
		publish(t, conn, "", "q1", "for q1")
		publish(t, conn, "", "q2", "for q2")
		publish(t, conn, "", "nobody", "dropped")
		publish(t, conn, "", "q1", "end")
		assert.Equal(t, []string{"for q1", "end"}, q1.waitLast(t, "end"))
		assert.Equal(t, []string{"for q2"}, q2.waitLast(t, "for q2"))
		assert.Empty(t, conn.Bindings("q1"), "the default binding is not listed")
		assert.ErrorIs(t, conn.Publish(t.Context(), "", "nobody", Publishing{Mandatory: true}), ErrUnroutable)

		q1.mu.Lock()
		m := q1.msgs[0]
		q1.mu.Unlock()
		assert.Equal(t, "", ExchangeName(m))
		assert.Equal(t, "q1", RoutingKey(m))
	})
}

func TestMandatory(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		conn := openConn(t, c)
		require.NoError(t, conn.ExchangeDeclare(t.Context(), "d", Direct, ExchangeOptions{}))
		declareQueue(t, conn, "q", [2]string{"d", "bound"})
		ends := func() []int64 {
			e, err := c.EndOffsets(t.Context(), "x.d")
			require.NoError(t, err)
			return e
		}
		err := conn.Publish(t.Context(), "d", "unbound", Publishing{Body: []byte("x"), Mandatory: true})
		assert.ErrorIs(t, err, ErrUnroutable)
		assert.NoError(t, conn.Publish(t.Context(), "d", "unbound", Publishing{Body: []byte("x")}), "AMQP drops it")
		assert.Equal(t, []int64{0}, ends(), "nothing written")
		require.NoError(t, conn.Publish(t.Context(), "d", "bound", Publishing{Body: []byte("x"), Mandatory: true,
			CorrelationID: "c-1", ReplyTo: "replies"}))
		assert.Equal(t, []int64{1}, ends())

		q := consume(t, conn, "q")
		q.waitCount(t, 1)
		q.mu.Lock()
		m := q.msgs[0]
		q.mu.Unlock()
		id, _ := m.Header("brook.correlation_id")
		reply, _ := m.Header("brook.reply_to")
		assert.Equal(t, "c-1", string(id))
		assert.Equal(t, "replies", string(reply))
	})
}

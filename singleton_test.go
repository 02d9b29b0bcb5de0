package brook

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// freshSingleton forgets the process-wide broker (closing it if open) and
// points BROOK_DATA_DIR at dir, for a test of the singleton; the broker is
// closed and forgotten again at the test's end.
func freshSingleton(t *testing.T, dir string) {
	t.Helper()
	forget := func() {
		singleton.mu.Lock()
		b := singleton.b
		singleton.b = nil
		singleton.mu.Unlock()
		if b != nil {
			_ = b.Close()
		}
	}
	forget()
	t.Setenv("BROOK_DATA_DIR", dir)
	t.Cleanup(forget)
}

// getConcurrently calls GetorSetBrokerInstance from n goroutines at once.
func getConcurrently(n int) []*Broker {
	got := make([]*Broker, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = GetorSetBrokerInstance() })
	}
	wg.Wait()
	return got
}

func TestSingletonSameValueForAllCallers(t *testing.T) {
	dir := t.TempDir()
	freshSingleton(t, dir)
	got := getConcurrently(8)
	for _, b := range got {
		assert.Same(t, got[0], b)
	}
	assert.Equal(t, dir, got[0].Dir())
	_, err := got[0].CreateNewTopic("t", 1)
	require.NoError(t, err)
}

func TestSingletonFailureIsSharedAndStays(t *testing.T) {
	dir := t.TempDir()
	freshSingleton(t, dir)
	holder, err := Open(dir, nil)
	require.NoError(t, err)

	got := getConcurrently(8)
	b := got[0]
	for _, o := range got {
		assert.Same(t, b, o, "concurrent first calls whose open fails get the same broker")
	}
	_, err = b.CreateNewTopic("t", 1)
	assert.ErrorIs(t, err, ErrLocked, "a singleton that failed to open returns that error")
	assert.ErrorIs(t, CreateProducer("p").Publish("t", CreateMessage("t", nil, 0)), ErrLocked)
	assert.ErrorIs(t, CreateConsumer("c", "g").Subscribe("t"), ErrLocked)
	require.NoError(t, b.Close())

	require.NoError(t, holder.Close())
	assert.Same(t, b, GetorSetBrokerInstance(), "no silent retry: the failure stays")

	// SetBrokerInstance replaces a failed process-wide broker.
	nb, err := Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, SetBrokerInstance(nb))
	assert.Same(t, nb, GetorSetBrokerInstance())
	_, err = nb.CreateNewTopic("t", 1)
	require.NoError(t, err)
	assert.NoError(t, CreateProducer("p").Publish("t", CreateMessage("t", nil, 0)))
}

func TestSetBrokerInstance(t *testing.T) {
	freshSingleton(t, t.TempDir())
	assert.ErrorIs(t, SetBrokerInstance(nil), ErrInvalidConfig)

	first, err := Open(t.TempDir(), &Options{Sync: SyncNever})
	require.NoError(t, err)
	require.NoError(t, SetBrokerInstance(first), "set before any use")
	require.NoError(t, SetBrokerInstance(first), "setting the same broker again")
	assert.Same(t, first, GetorSetBrokerInstance(), "GetorSet returns the broker that was set")

	other, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer other.Close()
	err = SetBrokerInstance(other)
	assert.ErrorIs(t, err, ErrBrokerInstanceSet, "refused while the current one is open")
	assert.Contains(t, err.Error(), first.Dir())
	assert.Same(t, first, GetorSetBrokerInstance())

	// After Close, the process-wide broker stays closed: no new one opens
	// behind the program's back, and earlier and later clients agree.
	early := CreateProducer("early")
	_, err = first.CreateNewTopic("t", 1)
	require.NoError(t, err)
	require.NoError(t, first.Close())
	assert.Same(t, first, GetorSetBrokerInstance())
	assert.ErrorIs(t, early.Publish("t", CreateMessage("t", nil, 0)), ErrClosed)
	assert.ErrorIs(t, CreateProducer("late").Publish("t", CreateMessage("t", nil, 0)), ErrClosed)
	assert.ErrorIs(t, CreateConsumer("c", "g").Subscribe("t"), ErrClosed)

	assert.ErrorIs(t, SetBrokerInstance(first), ErrClosed, "a closed broker cannot be set")
	require.NoError(t, SetBrokerInstance(other), "a closed process-wide broker can be replaced")
	assert.Same(t, other, GetorSetBrokerInstance())
}

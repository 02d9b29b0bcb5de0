package brook

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMessageHeader(t *testing.T) {
	m := &Message{Headers: []Header{{Key: "a", Value: []byte("1")}, {Key: "b", Value: nil}, {Key: "a", Value: []byte("2")}}}
	v, ok := m.Header("a")
	assert.True(t, ok)
	assert.Equal(t, []byte("1"), v, "the first of repeated keys")
	v, ok = m.Header("b")
	assert.True(t, ok, "a header with an empty value is present")
	assert.Nil(t, v)
	_, ok = m.Header("c")
	assert.False(t, ok)
}

package eventhttp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/event"
)

// errorBody is the JSON of every error answer. A 502 also names the
// remote error's code and carries the error reply.
type errorBody struct {
	Error string       `json:"error"`
	Code  string       `json:"code,omitempty"`
	Reply *event.Event `json:"reply,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the caller may be gone; nothing to do then
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// writeBusError answers an error of Bus.Publish or Bus.Request with the
// status that names it.
func writeBusError(w http.ResponseWriter, err error) {
	var remote *event.RemoteError
	switch {
	case errors.As(err, &remote):
		writeJSON(w, http.StatusBadGateway, errorBody{Error: remote.Message, Code: remote.Code, Reply: remote.Event})
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "no reply in time")
	case errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, "request cut short")
	case errors.Is(err, brook.ErrUnknownTopic):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, brook.ErrInvalidTopicName):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, brook.ErrMessageTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, event.ErrPendingRequest):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, brook.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

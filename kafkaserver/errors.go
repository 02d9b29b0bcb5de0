package kafkaserver

import (
	"errors"

	"github.com/brookmq/brook"
)

// Sentinel errors.
var (
	// ErrServerClosed is returned by Serve and ListenAndServe after
	// Shutdown or Close.
	ErrServerClosed = errors.New("kafkaserver: server closed")

	// ErrInvalidOptions is returned by Serve and ListenAndServe when the
	// Options cannot work (for example SASL users without a mechanism).
	ErrInvalidOptions = errors.New("kafkaserver: invalid options")

	// errFrame reports a frame the server refuses: too large, too short,
	// an unknown API key or version. The connection is closed.
	errFrame = errors.New("kafkaserver: bad request frame")
)

// Kafka protocol error codes used by the handlers.
const (
	errNone                      int16 = 0
	errUnknown                   int16 = -1
	errOffsetOutOfRange          int16 = 1
	errCorruptMessage            int16 = 2
	errUnknownTopicOrPartition   int16 = 3
	errMessageTooLarge           int16 = 10
	errCoordinatorNotAvailable   int16 = 15
	errInvalidTopic              int16 = 17
	errRecordListTooLarge        int16 = 18
	errInvalidRequiredAcks       int16 = 21
	errIllegalGeneration         int16 = 22
	errInconsistentGroupProtocol int16 = 23
	errInvalidGroupID            int16 = 24
	errUnknownMemberID           int16 = 25
	errInvalidSessionTimeout     int16 = 26
	errRebalanceInProgress       int16 = 27
	errUnsupportedSASLMechanism  int16 = 33
	errIllegalSASLState          int16 = 34
	errUnsupportedVersion        int16 = 35
	errTopicAlreadyExists        int16 = 36
	errInvalidPartitions         int16 = 37
	errInvalidReplicationFactor  int16 = 38
	errInvalidConfig             int16 = 40
	errInvalidRecord             int16 = 87
	errUnsupportedForMsgFormat   int16 = 43
	errSASLAuthenticationFailed  int16 = 58
	errNonEmptyGroup             int16 = 68
	errGroupIDNotFound           int16 = 69
	errKafkaStorageError         int16 = 56
	errTransactionalIDAuthFailed int16 = 53
	errOutOfOrderSequence        int16 = 45
	errDuplicateSequence         int16 = 46
	errInvalidProducerEpoch      int16 = 47
	errUnknownProducerID         int16 = 59
)

// errorCode maps a Brook error to the Kafka error code clients act on.
func errorCode(err error) int16 {
	switch {
	case err == nil:
		return errNone
	case errors.Is(err, brook.ErrUnknownTopic), errors.Is(err, brook.ErrInvalidPartition):
		return errUnknownTopicOrPartition
	case errors.Is(err, brook.ErrInvalidTopicName):
		return errInvalidTopic
	case errors.Is(err, brook.ErrTopicExists):
		return errTopicAlreadyExists
	case errors.Is(err, brook.ErrOffsetOutOfRange):
		return errOffsetOutOfRange
	case errors.Is(err, brook.ErrMessageTooLarge):
		return errMessageTooLarge
	case errors.Is(err, brook.ErrInvalidGroupID):
		return errInvalidGroupID
	case errors.Is(err, brook.ErrUnknownGroup):
		return errGroupIDNotFound
	case errors.Is(err, brook.ErrGroupActive):
		return errNonEmptyGroup
	case errors.Is(err, brook.ErrFenced):
		return errIllegalGeneration
	case errors.Is(err, brook.ErrInvalidConfig):
		return errInvalidConfig
	case errors.Is(err, brook.ErrCorrupt), errors.Is(err, brook.ErrPartitionFailed), errors.Is(err, brook.ErrClosed):
		return errKafkaStorageError
	}
	return errUnknown
}

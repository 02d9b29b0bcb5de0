// Package clienttest runs standard Kafka clients against kafkaserver:
// franz-go (kgo), sarama, segmentio/kafka-go and kcat. It is a nested
// module so that the core never depends on those clients. The package has
// no code of its own, only tests.
package clienttest

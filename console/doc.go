// Package console is Brook's admin HTTP surface: JSON endpoints over a
// broker's topics, partitions, consumer groups, members and lag, the
// Prometheus metrics of package metrics at /metrics, and a small web
// console (plain HTML, CSS and JavaScript embedded in the binary, no build
// step, nothing fetched from elsewhere) that shows them refreshing live,
// with a chart of each group's lag over the last minutes.
//
// Mount it in a program:
//
//	h := console.NewHandler(b, console.Options{})
//	defer h.Close()
//	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: h}
//
// # Endpoints
//
// All answer JSON, with snake_case fields; errors are {"error": "..."}
// with 400, 401, 403, 404, 405 or 409.
//
//	GET    /api/info                          read_only, sample interval, version of the API
//	GET    /api/overview                      topics, groups and lag history in one answer (the console's refresh)
//	GET    /api/topics                        every topic with its partitions
//	GET    /api/topics/{topic}                one topic
//	GET    /api/topics/{topic}/partitions     its partitions: first and next offset, bytes
//	GET    /api/groups                        every group: generation, member count, total lag
//	GET    /api/groups/{group}                one group: members, assignment, per-partition offsets and lag
//	GET    /api/groups/{group}/members        its members and their assigned partitions
//	GET    /api/groups/{group}/lag            its lag per partition
//	GET    /api/lag/history                   total lag per group, sampled every Options.SampleInterval
//	DELETE /api/groups/{group}?confirm={group}  Broker.DeleteGroup; only with Options.AllowWrites
//	POST   /api/groups/{group}/reset          Broker.ResetOffsets, body ResetRequest; only with Options.AllowWrites
//	PATCH  /api/topics/{topic}                Broker.AlterTopic, body TopicUpdate, answers the topic; only with Options.AllowWrites
//	GET    /metrics                           Prometheus text format
//
// # Safety
//
// The handler is read-only by default: a mutating request gets 403 unless
// Options.AllowWrites is set. A delete or a reset must then repeat the
// group's ID (the confirm parameter, or the confirm field of the body; the
// console asks the user to type it, or to confirm a dialog). A reset or a
// delete of a group with members gets 409 (brook.ErrGroupActive); a reset
// of a group that does not exist creates it, as Broker.ResetOffsets does.
// Bodies are one JSON object of at most 64 KiB with no unknown field. The
// mutating endpoints also refuse cross-origin requests from browsers
// (http.CrossOriginProtection), so that another site's page cannot use a
// console the user's browser reaches.
//
// With Options.Token set, every path but /metrics requires it, as an
// "Authorization: Bearer" header or as the session cookie the console sets
// when opened once with ?token=... in its address. A program should listen
// on loopback unless it sets a token.
package console

package kafkaserver

import (
	"slices"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// member drives the classic group protocol by hand over one connection.
type member struct {
	t        *testing.T
	c        *client
	group    string
	id       string
	gen      int32
	protocol string
}

func newMember(t *testing.T, addr, group, protocol string) *member {
	return &member{t: t, c: dial(t, addr), group: group, protocol: protocol}
}

func (m *member) join(topics ...string) int16 {
	m.t.Helper()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.MemberID, req.ProtocolType = m.group, m.id, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 1000, 5000
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = topics
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = m.protocol, meta.AppendTo(nil)
	req.Protocols = append(req.Protocols, p)
	resp := do[*kmsg.JoinGroupResponse](m.c, 7, req)
	if resp.ErrorCode == errNone {
		m.id, m.gen = resp.MemberID, resp.Generation
		assert.NotEqual(m.t, resp.MemberID, resp.LeaderID, "no client leads")
		assert.Equal(m.t, m.protocol, *resp.Protocol)
	}
	return resp.ErrorCode
}

func (m *member) sync() []int32 {
	m.t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.MemberID, req.Generation = m.group, m.id, m.gen
	resp := do[*kmsg.SyncGroupResponse](m.c, 5, req)
	require.Equal(m.t, errNone, resp.ErrorCode)
	var a kmsg.ConsumerMemberAssignment
	require.NoError(m.t, a.ReadFrom(resp.MemberAssignment))
	var ps []int32
	for _, at := range a.Topics {
		ps = append(ps, at.Partitions...)
	}
	slices.Sort(ps)
	return ps
}

func (m *member) heartbeat() int16 {
	m.t.Helper()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation = m.group, m.id, m.gen
	return do[*kmsg.HeartbeatResponse](m.c, 4, req).ErrorCode
}

func (m *member) commit(topic string, partition int32, offset int64) int16 {
	m.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = m.group, m.id, m.gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return do[*kmsg.OffsetCommitResponse](m.c, 8, req).Topics[0].Partitions[0].ErrorCode
}

// waitRebalance heartbeats until the server asks for a rebalance.
func (m *member) waitRebalance() {
	m.t.Helper()
	require.Eventually(m.t, func() bool { return m.heartbeat() == errRebalanceInProgress },
		10*time.Second, 10*time.Millisecond)
}

func TestGroupEagerHandOver(t *testing.T) {
	b, _, addr := startServer(t, nil)
	_, err := b.CreateNewTopic("g", 4)
	require.NoError(t, err)
	a := newMember(t, addr, "eager", "range")
	require.Equal(t, errNone, a.join("g"))
	assert.Equal(t, []int32{0, 1, 2, 3}, a.sync())
	assert.Equal(t, errNone, a.heartbeat())
	assert.Equal(t, errNone, a.commit("g", 0, 5))

	c := newMember(t, addr, "eager", "range")
	require.Equal(t, errNone, c.join("g"))
	assert.Empty(t, c.sync(), "a's partitions move only after a gives them up")
	a.waitRebalance()
	oldGen := a.gen
	require.Equal(t, errNone, a.join("g")) // eager: a gives up everything
	assert.Greater(t, a.gen, oldGen)
	got := a.sync()
	assert.Len(t, got, 2)
	c.waitRebalance()
	require.Equal(t, errNone, c.join("g"))
	other := c.sync()
	assert.Len(t, other, 2)
	assert.Empty(t, intersect(got, other))

	// Fencing: a stale generation, a partition a no longer owns, an unknown member.
	stale := *a
	stale.gen = oldGen
	assert.Equal(t, errIllegalGeneration, stale.commit("g", got[0], 1))
	assert.Equal(t, errIllegalGeneration, a.commit("g", other[0], 1))
	assert.Equal(t, errNone, c.commit("g", other[0], 7))
	ghost := *a
	ghost.id = "nobody"
	assert.Equal(t, errUnknownMemberID, ghost.heartbeat())
	offs, err := b.CommittedOffsets("eager")
	require.NoError(t, err)
	assert.Equal(t, int64(7), offs[brook.TopicPartition{Topic: "g", Partition: int(other[0])}])
}

func intersect(a, b []int32) []int32 {
	var out []int32
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func TestGroupCooperativeKeepsPartitions(t *testing.T) {
	b, _, addr := startServer(t, nil)
	_, err := b.CreateNewTopic("c", 4)
	require.NoError(t, err)
	a := newMember(t, addr, "coop", cooperativeProtocol)
	require.Equal(t, errNone, a.join("c"))
	require.Equal(t, []int32{0, 1, 2, 3}, a.sync())
	c := newMember(t, addr, "coop", cooperativeProtocol)
	require.Equal(t, errNone, c.join("c"))
	assert.Empty(t, c.sync())
	a.waitRebalance()
	require.Equal(t, errNone, a.join("c")) // cooperative: a still holds all four
	kept := a.sync()
	assert.Len(t, kept, 2, "the second sync leaves out what must move")
	for _, p := range []int32{0, 1, 2, 3} {
		if !slices.Contains(kept, p) {
			assert.Equal(t, errNone, a.commit("c", p, 3), "a commits what it gives up before joining again")
		}
	}
	require.Equal(t, errNone, a.join("c")) // now it has given them up
	assert.Equal(t, kept, a.sync(), "a keeps its partitions across the rebalance")
	c.waitRebalance()
	require.Equal(t, errNone, c.join("c"))
	assert.Len(t, c.sync(), 2)
	assert.Equal(t, errNone, a.heartbeat())
}

func TestGroupAdminAPIs(t *testing.T) {
	b, _, addr := startServer(t, nil)
	_, err := b.CreateNewTopic("adm", 2)
	require.NoError(t, err)
	m := newMember(t, addr, "adm-group", "range")
	require.Equal(t, errNone, m.join("adm"))
	m.sync()
	require.Equal(t, errNone, m.commit("adm", 1, 4))

	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "adm-group"
	fr := do[*kmsg.FindCoordinatorResponse](m.c, 3, fc)
	assert.Equal(t, errNone, fr.ErrorCode)
	assert.Equal(t, int32(nodeID), fr.NodeID)

	of := kmsg.NewPtrOffsetFetchRequest()
	of.Group = "adm-group"
	ot := kmsg.NewOffsetFetchRequestTopic()
	ot.Topic, ot.Partitions = "adm", []int32{0, 1}
	of.Topics = append(of.Topics, ot)
	ofr := do[*kmsg.OffsetFetchResponse](m.c, 7, of)
	require.Len(t, ofr.Topics, 1)
	assert.Equal(t, int64(-1), ofr.Topics[0].Partitions[0].Offset)
	assert.Equal(t, int64(4), ofr.Topics[0].Partitions[1].Offset)

	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Groups = []string{"adm-group", "missing"}
	dgr := do[*kmsg.DescribeGroupsResponse](m.c, 5, dg)
	assert.Equal(t, "Stable", dgr.Groups[0].State)
	require.Len(t, dgr.Groups[0].Members, 1)
	assert.Equal(t, m.id, dgr.Groups[0].Members[0].MemberID)
	assert.Equal(t, "test", dgr.Groups[0].Members[0].ClientID)
	assert.Equal(t, "Dead", dgr.Groups[1].State)

	lg := do[*kmsg.ListGroupsResponse](m.c, 4, kmsg.NewPtrListGroupsRequest())
	require.Len(t, lg.Groups, 1)
	assert.Equal(t, "adm-group", lg.Groups[0].Group)

	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"adm-group"}
	assert.Equal(t, errNonEmptyGroup, do[*kmsg.DeleteGroupsResponse](m.c, 2, del).Groups[0].ErrorCode)
	lv := kmsg.NewPtrLeaveGroupRequest()
	lv.Group = "adm-group"
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = m.id
	lv.Members = append(lv.Members, lm)
	assert.Equal(t, errNone, do[*kmsg.LeaveGroupResponse](m.c, 4, lv).Members[0].ErrorCode)
	assert.Equal(t, errNone, do[*kmsg.DeleteGroupsResponse](m.c, 2, del).Groups[0].ErrorCode)
	assert.Equal(t, errGroupIDNotFound, do[*kmsg.DeleteGroupsResponse](m.c, 2, del).Groups[0].ErrorCode)

	// A commit without membership is accepted while the group is empty.
	simple := newMember(t, addr, "simple", "range")
	simple.gen = -1
	assert.Equal(t, errNone, simple.commit("adm", 0, 2))

	dc := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "adm"
	dc.Resources = append(dc.Resources, res)
	dcr := do[*kmsg.DescribeConfigsResponse](m.c, 4, dc)
	require.Equal(t, errNone, dcr.Resources[0].ErrorCode)
	names := map[string]string{}
	for _, kv := range dcr.Resources[0].Configs {
		names[kv.Name] = *kv.Value
	}
	assert.Equal(t, "delete", names["cleanup.policy"])
	assert.Contains(t, names, "retention.ms")
}

func TestGroupSessionTimeoutEvicts(t *testing.T) {
	b, _, addr := startServer(t, nil)
	_, err := b.CreateNewTopic("s", 2)
	require.NoError(t, err)
	m := newMember(t, addr, "sess", "range")
	require.Equal(t, errNone, m.join("s"))
	m.sync()
	require.Eventually(t, func() bool {
		st, err := b.GroupStats("sess")
		return err == nil && len(st.Members) == 0
	}, 10*time.Second, 20*time.Millisecond, "a member without heartbeats leaves after its session timeout")
	assert.Equal(t, errUnknownMemberID, m.heartbeat())
	assert.Equal(t, errUnknownMemberID, m.commit("s", 0, 1))
	m.id = ""
	assert.Equal(t, errNone, m.join("s"), "it joins again as a new member")
}

func TestGroupRefusesOtherProtocolTypes(t *testing.T) {
	_, _, addr := startServer(t, nil)
	c := dial(t, addr)
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.ProtocolType, req.SessionTimeoutMillis = "connect-group", "connect", 1000
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name = "default"
	req.Protocols = append(req.Protocols, p)
	assert.Equal(t, errInconsistentGroupProtocol, do[*kmsg.JoinGroupResponse](c, 5, req).ErrorCode)
}

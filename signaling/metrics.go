package signaling

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"palabre/sfu"
)

// metrics are the server's Prometheus metrics. Media counters are read from
// the sfu's atomics at scrape time, so the forwarding path pays nothing.
type metrics struct {
	reg          *prometheus.Registry
	joinFailures *prometheus.CounterVec
	joins        prometheus.Counter
	redirects    prometheus.Counter
	roomsMoved   prometheus.Counter
	floorChanges prometheus.Counter
	// presenceBatches counts the presence messages sent (one per room
	// per flush, whatever its size).
	presenceBatches prometheus.Counter
	listRequests    prometheus.Counter
	// joinSeconds is the time from a join request to a media connection
	// that is up.
	joinSeconds prometheus.Histogram
	// chats counts chat messages relayed (their number only).
	chats prometheus.Counter
	// rejoins counts joins of clients coming back after losing their
	// connection (or their node).
	rejoins prometheus.Counter
	// disconnects counts the connections the server cut, by reason.
	disconnects *prometheus.CounterVec
	// addressRefusals counts what was refused at an address's limits.
	addressRefusals *prometheus.CounterVec
}

// disconnectReasons are the reasons the server cuts a connection.
var disconnectReasons = []string{"flood", "too_slow", "join_timeout"}

// disconnected counts a connection cut for reason.
func (s *Server) disconnected(reason string) {
	s.metrics.disconnects.WithLabelValues(reason).Inc()
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		joinFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palabre_join_failures_total",
			Help: "Refused joins, by error code.",
		}, []string{"code"}),
		joins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palabre_joins_total",
			Help: "Participants admitted into a room.",
		}),
		redirects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palabre_join_redirects_total",
			Help: "Joins sent to the cluster node that hosts their room.",
		}),
		roomsMoved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palabre_rooms_moved_total",
			Help: "Live rooms moved to another cluster node (drain, or another node kept the room).",
		}),
		floorChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palabre_floor_changes_total",
			Help: "Times a room's floor (who may speak) changed.",
		}),
		presenceBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palabre_presence_batches_total",
			Help: "Presence batches sent (one message per room per interval, to all its members).",
		}),
		listRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palabre_list_requests_total",
			Help: "Pages of participant lists served (list requests).",
		}),
		joinSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "palabre_join_seconds",
			Help:    "Time from a join request to a media connection that is up (ICE, DTLS).",
			Buckets: []float64{0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30},
		}),
		chats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palabre_chat_messages_total",
			Help: "Chat messages relayed (counted only: the server keeps and logs no text).",
		}),
		rejoins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palabre_rejoins_total",
			Help: "Joins by clients coming back after losing their connection or their node (join.rejoin).",
		}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palabre_disconnects_total",
			Help: "WebSocket connections closed by the server, by reason (flood, too_slow, join_timeout).",
		}, []string{"reason"}),
		addressRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palabre_address_limit_refusals_total",
			Help: "Connections, joins and ad-hoc rooms refused because one address held its limit of them, by limit.",
		}, []string{"limit"}),
	}
	m.reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		m.joinFailures, m.joins, m.redirects, m.roomsMoved, m.floorChanges, m.presenceBatches, m.listRequests, m.disconnects, m.addressRefusals,
		m.joinSeconds, m.rejoins, m.chats,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "palabre_build_info",
			Help:        "Always 1; the software label names this server's version.",
			ConstLabels: prometheus.Labels{"software": s.cfg.Software},
		}, func() float64 { return 1 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "palabre_rooms",
			Help: "Rooms with at least one participant.",
		}, func() float64 { r, _ := s.LiveRooms(); return float64(r) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "palabre_participants",
			Help: "Participants in rooms.",
		}, func() float64 { _, p := s.LiveRooms(); return float64(p) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "palabre_sessions",
			Help: "Open WebSocket connections.",
		}, func() float64 { return float64(s.sessionCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "palabre_cluster_nodes",
			Help: "Cluster nodes this node sees alive or suspect, itself included (1 without a cluster).",
		}, func() float64 {
			if s.cfg.Cluster == nil {
				return 1
			}
			return float64(len(s.cfg.Cluster.Members()))
		}),
		&mediaCollector{s: s},
		&turnCollector{s: s},
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "palabre_cluster_registry_dropped_total",
			Help: "Room definitions from peers dropped because the write queue was full (the next state exchange brings them again).",
		}, func() float64 {
			if s.cfg.Cluster == nil {
				return 0
			}
			return float64(s.cfg.Cluster.InboxStats().Dropped)
		}),
	)
	// Codes are known in advance: export zeros so rates work from the start.
	for _, code := range joinFailureCodes {
		m.joinFailures.WithLabelValues(code)
	}
	for _, r := range disconnectReasons {
		m.disconnects.WithLabelValues(r)
	}
	for u := range addressUses {
		m.addressRefusals.WithLabelValues(u.String())
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// mediaCollector exports the sfu's counters.
type mediaCollector struct{ s *Server }

var (
	descPacketsIn  = prometheus.NewDesc("palabre_received_packets_total", "RTP packets received from participants.", nil, nil)
	descBytesIn    = prometheus.NewDesc("palabre_received_bytes_total", "Bytes of RTP received from participants.", nil, nil)
	descPacketsOut = prometheus.NewDesc("palabre_forwarded_packets_total", "RTP packets forwarded to participants (retransmissions included).", nil, nil)
	descBytesOut   = prometheus.NewDesc("palabre_forwarded_bytes_total", "Bytes of RTP forwarded to participants.", nil, nil)
	descRetransmit = prometheus.NewDesc("palabre_retransmitted_packets_total", "Packets re-sent in answer to NACKs.", nil, nil)
	descDropped    = prometheus.NewDesc("palabre_dropped_packets_total", "Packets not forwarded, by reason.", []string{"reason"}, nil)
	descRefused    = prometheus.NewDesc("palabre_media_refused_total", "What the media plane refused from clients, by reason: packets with an SSRC not announced, from an address no ICE check came from, over the rate limits; ICE checks from too many addresses; candidates refused; NACKs over the resend budget or repeated within 100 ms.", []string{"reason"}, nil)
	descHostile    = prometheus.NewDesc("palabre_media_closed_hostile_total", "Participants whose media connection was closed for hostile RTCP.", nil, nil)
	descConnected  = prometheus.NewDesc("palabre_media_connections", "Participants whose media connection is up, by kind (udp, tcp: ICE-TCP, turn: through a relay).", []string{"kind"}, nil)
	descConnFailed = prometheus.NewDesc("palabre_media_connection_failures_total", "Media connections that failed, by when: never_connected (ICE found no path), lost (the network went away).", []string{"when"}, nil)
	descFanoutTime = prometheus.NewDesc("palabre_media_fanout_seconds", "How long each forwarded audio packet stayed in the server, from its decryption to the last of its copies sent.", nil, nil)
)

func (c *mediaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPacketsIn, descBytesIn, descPacketsOut, descBytesOut, descRetransmit, descDropped, descRefused, descHostile, descConnected, descConnFailed, descFanoutTime} {
		ch <- d
	}
}

func (c *mediaCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.cfg.Engine.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descPacketsIn, st.PacketsIn)
	counter(descBytesIn, st.BytesIn)
	counter(descPacketsOut, st.PacketsOut)
	counter(descBytesOut, st.BytesOut)
	counter(descRetransmit, st.Retransmit)
	counter(descDropped, st.DropGated, "no_floor")
	counter(descDropped, st.DropMuted, "muted")
	counter(descDropped, st.DropNoSlot, "no_slot")
	counter(descDropped, st.DropWriteError, "write_error")
	counter(descRefused, st.DropUnknownSSRC, "unknown_ssrc")
	counter(descRefused, st.DropUnknownSource, "unknown_source")
	counter(descRefused, st.DropFlood, "rate")
	counter(descRefused, st.DropICECheck, "ice_check")
	counter(descRefused, st.DropTCP, "ice_tcp")
	counter(descRefused, st.DropCandidate, "candidate")
	counter(descRefused, st.DropNACKRate, "nack_budget")
	counter(descRefused, st.DropNACKRepeat, "nack_repeat")
	counter(descHostile, st.ClosedHostile)
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	gauge(descConnected, st.ConnectedUDP, "udp")
	gauge(descConnected, st.ConnectedTCP, "tcp")
	gauge(descConnected, st.ConnectedRelay, "turn")
	counter(descConnFailed, st.NeverConnected, "never_connected")
	counter(descConnFailed, st.ConnectionLost, "lost")
	ft := st.FanoutTime
	buckets := make(map[float64]uint64, len(sfu.FanoutBounds))
	var cum uint64
	for i, b := range sfu.FanoutBounds {
		cum += ft.Counts[i]
		buckets[b.Seconds()] = cum
	}
	ch <- prometheus.MustNewConstHistogram(descFanoutTime, ft.Total(), ft.Sum.Seconds(), buckets)
}

// turnCollector exports the bundled TURN server's counters.
type turnCollector struct{ s *Server }

var (
	descTURNAllocations    = prometheus.NewDesc("palabre_turn_allocations", "Live TURN allocations.", nil, nil)
	descTURNAllocationsAll = prometheus.NewDesc("palabre_turn_allocations_total", "TURN allocations created.", nil, nil)
	descTURNConns          = prometheus.NewDesc("palabre_turn_connections", "Open TURN client connections over TCP and TLS.", nil, nil)
	descTURNRelayed        = prometheus.NewDesc("palabre_turn_relayed_bytes_total", "Payload bytes relayed, by direction (to_peers, from_peers).", []string{"direction"}, nil)
	descTURNRefused        = prometheus.NewDesc("palabre_turn_refused_total", "TURN requests and connections refused, by reason.", []string{"reason"}, nil)
	descTURNConnsDeadline  = prometheus.NewDesc("palabre_turn_connections_closed_total", "TURN TCP and TLS connections closed by a deadline, by reason (no_allocation, idle).", []string{"reason"}, nil)
	turnCollectorDescs     = []*prometheus.Desc{descTURNAllocations, descTURNAllocationsAll, descTURNConns, descTURNRelayed, descTURNRefused, descTURNConnsDeadline}
)

func (c *turnCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range turnCollectorDescs {
		ch <- d
	}
}

func (c *turnCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.cfg.TURN == nil {
		return
	}
	st := c.s.cfg.TURN.Stats()
	gauge := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descTURNAllocations, st.Allocations)
	gauge(descTURNConns, st.Conns)
	counter(descTURNAllocationsAll, st.AllocationsTotal)
	counter(descTURNRelayed, st.RelayBytesToPeers, "to_peers")
	counter(descTURNRelayed, st.RelayBytesFromPeers, "from_peers")
	counter(descTURNRefused, st.AuthFailures, "credentials")
	counter(descTURNRefused, st.QuotaRefused, "quota")
	counter(descTURNRefused, st.PermissionsRefused, "peer_policy")
	counter(descTURNRefused, st.RelayPortRefused, "own_port")
	counter(descTURNRefused, st.ConnsRefused, "connections_per_address")
	counter(descTURNConnsDeadline, st.ConnsClosedNoAllocation, "no_allocation")
	counter(descTURNConnsDeadline, st.ConnsClosedIdle, "idle")
}

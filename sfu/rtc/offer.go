package rtc

// Offer is the server's description for c: ICE-lite, c's credentials, the
// engine's fingerprint and host candidate, setup actpass, and media.
func (c *Conn) Offer(media []Media) *Description {
	return &Description{
		ICELite:     true,
		Ufrag:       c.ufrag,
		Pwd:         c.pwd,
		Fingerprint: c.cert.fp,
		Setup:       SetupActPass,
		Candidates:  c.e.Candidates(),
		Media:       media,
	}
}

// Answer is the client mode's answer to offer: c's credentials, the
// engine's fingerprint, setup active (the client is the DTLS client), no
// candidates (the ICE-lite server learns the client's address from its
// checks), every section accepted with the offer's codecs and extensions
// and the opposite direction. ssrcs gives the SSRC the client sends from in
// each section it sends in (by mid); sections without one send nothing.
func (c *Conn) Answer(offer *Description, ssrcs map[string]uint32) *Description {
	d := &Description{
		Ufrag:       c.ufrag,
		Pwd:         c.pwd,
		Fingerprint: c.cert.fp,
		Setup:       SetupActive,
	}
	for _, o := range offer.Media {
		m := Media{
			Kind:       o.Kind,
			MID:        o.MID,
			Codecs:     o.Codecs,
			Extensions: o.Extensions,
			RTCPMux:    true,
			RTCPRsize:  o.RTCPRsize,
		}
		ssrc, sends := ssrcs[o.MID]
		switch {
		case o.Direction == RecvOnly && sends:
			m.Direction = SendOnly
		case o.Direction == SendOnly:
			m.Direction = RecvOnly
		case o.Direction == SendRecv && sends:
			m.Direction = SendRecv
		case o.Direction == SendRecv:
			m.Direction = RecvOnly
		default:
			m.Direction = Inactive
		}
		if sends && m.Direction != RecvOnly && m.Direction != Inactive {
			m.SSRCs = []uint32{ssrc}
			m.CNAME = c.ufrag
			m.StreamID, m.TrackID = c.ufrag, o.MID
		}
		d.Media = append(d.Media, m)
	}
	return d
}

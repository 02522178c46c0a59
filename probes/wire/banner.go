package wire

import "time"

// Banner is a piece of text a server volunteers about itself: an SMTP
// greeting or EHLO reply, an IMAP greeting or ID, a POP3 greeting, an SSH
// identification line, a telnet prompt. Every probe observation lists its
// banners (method Banners) so that software fingerprints can be read from
// all of them alike.
type Banner struct {
	Service string `json:"service"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Kind says which banner: "greeting", "ehlo", "helo", "id",
	// "identification", "prompt".
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// TimeSample is a server's clock as read from something it said (an SMTP
// greeting's timestamp), for the time-synchronisation item when the server
// answers no NTP.
type TimeSample struct {
	Service string `json:"service"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Text is the timestamp as the server wrote it.
	Text string `json:"text"`
	// Server is the time the server stated.
	Server time.Time `json:"server"`
	// Received is the scanner's clock when the line arrived; RTTMS the
	// round trip of the connection's establishment, in milliseconds.
	Received time.Time `json:"received"`
	RTTMS    int64     `json:"rtt_ms"`
	// ResolutionMS is the stated time's resolution (1000 for whole
	// seconds).
	ResolutionMS int64 `json:"resolution_ms"`
}

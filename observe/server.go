package observe

// ServiceState is what became of one planned service of a server.
type ServiceState string

// The states of a planned service, as stored in results.
const (
	// StateAnswered: the service is there (it accepted a connection, or
	// a datagram service answered).
	StateAnswered ServiceState = "answered"
	// StateNoAnswer: nothing answered.
	StateNoAnswer ServiceState = "no-answer"
	// StateNotProbed: the budget ran out before the probe could try:
	// nothing is known.
	StateNotProbed ServiceState = "not-probed"
	// StateOutOfScope: the address is outside the scan's scope and was
	// not contacted.
	StateOutOfScope ServiceState = "out-of-scope"
)

// Service is one planned service of a server and what became of it.
type Service struct {
	Service string `json:"service"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Listed is set when the inventory lists the service; otherwise it was
	// found by discovery on its standard port.
	Listed bool `json:"listed"`
	// State is what became of the service.
	State ServiceState `json:"state"`
}

// Observations is what the probes saw of one server.
type Observations struct {
	// Addresses are the addresses scanned.
	Addresses []string `json:"addresses"`
	// OutOfScope are addresses of the server outside the scan's scope,
	// never contacted: no item can pass on what was not seen.
	OutOfScope []string `json:"out_of_scope,omitempty"`
	// Services lists every planned service with its state; only listed
	// services and answering ones have an observation below.
	Services []Service `json:"services"`
	// Problems concern the whole server (resolution, scope, budget).
	Problems []string `json:"problems,omitempty"`

	SMTP  []*SMTP  `json:"smtp,omitempty"`
	IMAP  []*IMAP  `json:"imap,omitempty"`
	POP3  []*POP3  `json:"pop3,omitempty"`
	SSH   []*SSH   `json:"ssh,omitempty"`
	Admin []*Admin `json:"admin,omitempty"`
	NTP   []*NTP   `json:"ntp,omitempty"`
	// Content is the opt-in content test (at most one per server): the
	// test messages sent and what became of them.
	Content []*Content `json:"content,omitempty"`

	// Fingerprints are the software identified from every banner.
	Fingerprints []Fingerprint `json:"fingerprints,omitempty"`
}

// Observation is what one probe saw of one service: every protocol's
// observation type in this package implements it (and only those can:
// collect files it in its own field of Observations).
type Observation interface {
	// Banners returns the banners the service volunteered.
	Banners() []Banner
	// collect files the observation under its protocol.
	collect(o *Observations)
}

func (x *SMTP) collect(o *Observations)  { o.SMTP = append(o.SMTP, x) }
func (x *IMAP) collect(o *Observations)  { o.IMAP = append(o.IMAP, x) }
func (x *POP3) collect(o *Observations)  { o.POP3 = append(o.POP3, x) }
func (x *SSH) collect(o *Observations)   { o.SSH = append(o.SSH, x) }
func (x *Admin) collect(o *Observations) { o.Admin = append(o.Admin, x) }
func (x *NTP) collect(o *Observations)   { o.NTP = append(o.NTP, x) }

// Add files an observation under its protocol.
func (o *Observations) Add(obs Observation) { obs.collect(o) }

// All returns every observation of the server, protocol by protocol.
func (o *Observations) All() []Observation {
	var out []Observation
	for _, x := range o.SMTP {
		out = append(out, x)
	}
	for _, x := range o.IMAP {
		out = append(out, x)
	}
	for _, x := range o.POP3 {
		out = append(out, x)
	}
	for _, x := range o.SSH {
		out = append(out, x)
	}
	for _, x := range o.Admin {
		out = append(out, x)
	}
	for _, x := range o.NTP {
		out = append(out, x)
	}
	for _, x := range o.Content {
		out = append(out, x)
	}
	return out
}

// Banners returns every banner of every observation.
func (o *Observations) Banners() []Banner {
	var out []Banner
	for _, x := range o.All() {
		out = append(out, x.Banners()...)
	}
	return out
}

// TimeSamples returns the clock readings of SMTP greetings.
func (o *Observations) TimeSamples() []TimeSample {
	var out []TimeSample
	for _, x := range o.SMTP {
		if x.GreetingTime != nil {
			out = append(out, *x.GreetingTime)
		}
	}
	return out
}

// ServiceSet returns the services that make items apply: every listed
// service and every discovered one that answered.
func (o *Observations) ServiceSet() map[string]bool {
	set := map[string]bool{}
	for _, s := range o.Services {
		if s.Listed || s.State == StateAnswered {
			set[s.Service] = true
		}
	}
	return set
}

// Fingerprint is what the banners of one service show about its software
// (package fingerprint reads them). It is stored in results as
// observations.fingerprints.
type Fingerprint struct {
	Service string `json:"service"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Product is the canonical product name (Postfix, Sendmail, Exim,
	// Microsoft Exchange, Microsoft SMTP Service (IIS), OpenSMTPD, qmail,
	// Courier, Dovecot, Cyrus, UW-IMAP, Qpopper, Zimbra, Lotus Domino,
	// OpenSSH, Dropbear, ...), "" when not recognised.
	Product string `json:"product"`
	// Version is the upstream version, "" when hidden.
	Version string `json:"version"`
	// Line is the product's release line when the banner names it
	// without a version ("2007" for "Microsoft Exchange Server 2007").
	Line string `json:"line,omitempty"`
	// Distro is the distribution whose marker shows: debian, ubuntu,
	// raspbian, el (an RPM .elN tag: RHEL or a rebuild), rhel, centos,
	// windows, freebsd; "" when none.
	Distro string `json:"distro"`
	// DistroRelease is the release ("12", "22.04", "5", "2003"), "" when
	// unknown.
	DistroRelease string `json:"distro_release"`
	// ReleaseCandidates lists the possible releases when the banner
	// narrows the release to several (OpenSSH 8.4p1 on Ubuntu: 21.04 or
	// 21.10).
	ReleaseCandidates []string `json:"release_candidates,omitempty"`
	// PackageVersion is the distribution package version
	// (1:9.2p1-2+deb12u3), "" when not shown.
	PackageVersion string `json:"package_version"`
	// OS names the operating system when it can be inferred.
	OS string `json:"os"`
	// Evidence holds the banner lines the fingerprint was read from,
	// prefixed with their kind ("greeting: 220 mx ESMTP Postfix").
	Evidence []string `json:"evidence"`
	// Notes say how sure the reading is and what it could not see.
	Notes []string `json:"notes,omitempty"`
}

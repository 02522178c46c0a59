package fleet

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/tlscert"
	"github.com/kensa-inspect/kensa/internal/fleet/mailbox"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/scoring"
)

// ContentTest is the content filter behind a host's smtp service and its
// office's opt-in to kensa's content test.
type ContentTest struct {
	// Filter is the smtpd content filter ("" for none: every message is
	// refused at DATA).
	Filter string `json:"filter,omitempty"`
	// OptIn is set when the office named a test recipient for the host
	// (WriteContentTests): only then does a scan send test messages.
	OptIn bool `json:"opt_in,omitempty"`
	// Mailbox runs the test mailbox, which the filter delivers into and
	// the scan may look into, on the host's address at MailboxPort.
	Mailbox bool `json:"mailbox,omitempty"`
	// Cert is the mailbox's certificate and key (PEM), made once per
	// plan (NewMailboxCert) so that every process of a fleet shows the
	// same one, which the scan is told to trust.
	Cert string `json:"cert,omitempty"`
}

// NewMailboxCert makes the certificate of a plan's test mailboxes, for
// the name MailboxTLSName, as PEM: the certificate, then its key.
func NewMailboxCert() (string, error) {
	now := time.Now()
	c, err := tlscert.New(tlscert.Spec{CommonName: MailboxTLSName, Organization: []string{"kensa simulated fleet"},
		DNSNames: []string{MailboxTLSName}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(tlscert.Year), CA: true})
	if err != nil {
		return "", err
	}
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})), nil
}

// MailboxPort is the port of a host's test mailbox (imaps): not a
// standard port, so discovery never finds it.
const MailboxPort = 10993

// Test mailbox of every simulated host: its user, and the name its
// certificate shows.
const (
	MailboxUser    = "kensa-test"
	MailboxTLSName = "mailbox.fleet.example"
)

// MailboxPassword is the password of every simulated test mailbox; the
// fleet writes it to a file for the scan (WriteContentTests).
const MailboxPassword = "fleet-test-mailbox"

// contentProfiles are the smtp profiles a content test can go through:
// they greet at once and take mail for their own mailboxes.
var contentProfiles = map[smtpd.Profile]bool{smtpd.Closed: true, smtpd.RelayDenied454: true, smtpd.OpenRelay: true, smtpd.LocalSender: true}

// checkContent refuses a content test the truth cannot know.
func (h *Host) checkContent() error {
	c := h.Content
	if c == nil {
		return nil
	}
	if _, err := smtpd.ParseFilter(c.Filter); err != nil {
		return fmt.Errorf("fleet: host %s: %w", h.ID, err)
	}
	if c.Mailbox && c.Cert == "" {
		return fmt.Errorf("fleet: host %s: a test mailbox needs the plan's certificate (NewMailboxCert)", h.ID)
	}
	if h.SMTP == nil || !contentProfiles[smtpd.Profile(h.SMTP.Profile)] {
		return fmt.Errorf("fleet: host %s: a content test needs an smtp service that takes mail for its own mailboxes (closed, relay-denied-454, open-relay, local-sender)", h.ID)
	}
	return nil
}

// contentTruth is M3 and X2 of a host with an smtp service: unknown
// (a declaration decides) unless its office opted in, else the filter's
// truth.
func (h *Host) contentTruth() (m3, x2 scoring.Outcome) {
	c := h.Content
	if c == nil || !c.OptIn {
		return scoring.Unknown, scoring.Unknown
	}
	m3, x2, _ = smtpd.ContentTruth(smtpd.Filter(c.Filter), c.Mailbox)
	return m3, x2
}

// Recipient returns the host's test recipient: a mailbox at its mail
// domain.
func (h *Host) Recipient() string {
	return MailboxUser + "@" + h.smtpConfig(h.SMTP).MailDomain()
}

func startMailbox(h *Host, addr string) (*mailbox.Server, error) {
	cert, err := tls.X509KeyPair([]byte(h.Content.Cert), []byte(h.Content.Cert))
	if err != nil {
		return nil, fmt.Errorf("the mailbox certificate: %w", err)
	}
	return mailbox.Start(addr, MailboxUser, MailboxPassword, cert)
}

// WriteContentTests writes the content-tests file of the hosts whose
// office opted in, one entry per host: its test recipient, and its test
// mailbox with the password file and the certificate file named (the
// caller writes them: WriteMailboxCA and MailboxPassword).
func (p *Plan) WriteContentTests(w io.Writer, passwordFile, caFile string) error {
	var b strings.Builder
	b.WriteString("# kensa content tests of the simulated fleet: the servers whose office opted in\ntests:\n")
	n := 0
	for i := range p.Hosts {
		h := &p.Hosts[i]
		if h.Content == nil || !h.Content.OptIn || h.SMTP == nil {
			continue
		}
		n++
		fmt.Fprintf(&b, "  - server: %s\n    rcpt: %s\n", h.ID, h.Recipient())
		if h.Content.Mailbox {
			fmt.Fprintf(&b, "    imap: imaps://%s:%d\n    imap_user: %s\n    imap_password_file: %s\n    imap_ca: %s\n    imap_tls_name: %s\n",
				h.Addr, MailboxPort, MailboxUser, passwordFile, caFile, MailboxTLSName)
		}
	}
	if n == 0 {
		return fmt.Errorf("fleet: no host of the plan opted in to the content test")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// OptedIn reports whether any host of the plan opted in to the content
// test.
func (p *Plan) OptedIn() bool {
	for i := range p.Hosts {
		if c := p.Hosts[i].Content; c != nil && c.OptIn && p.Hosts[i].SMTP != nil {
			return true
		}
	}
	return false
}

// WriteMailboxCA writes the certificate the plan's test mailboxes show,
// as PEM, for the scan to trust.
func (p *Plan) WriteMailboxCA(w io.Writer) error {
	for i := range p.Hosts {
		if c := p.Hosts[i].Content; c != nil && c.Mailbox && c.Cert != "" {
			blk, _ := pem.Decode([]byte(c.Cert))
			if blk == nil {
				return fmt.Errorf("fleet: host %s: no PEM certificate for its mailbox", p.Hosts[i].ID)
			}
			return pem.Encode(w, blk)
		}
	}
	return fmt.Errorf("fleet: no host of the plan has a test mailbox")
}

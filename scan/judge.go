package scan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/fingerprint"
	"github.com/kensa-inspect/kensa/probes"
	"github.com/kensa-inspect/kensa/probes/ntp"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

// ProbeOptions are the mail scan's probe settings from the command line.
type ProbeOptions struct {
	// RelayDomain is the external test domain of the open-relay test.
	RelayDomain string
	// HeloName is the name the scanner gives in EHLO.
	HeloName string
}

// MailProbe returns the engine's Probe hook for the mail-server checks.
// One random password serves every fake login of the scan, so that a
// server's failed-login penalty sees a single wrong password.
func MailProbe(o ProbeOptions) func(ctx context.Context, env wire.Env, t Target) (any, bool) {
	var b [12]byte
	rand.Read(b[:])
	pw := "kensa-" + hex.EncodeToString(b[:])
	opts := probes.Options{}
	opts.SMTP.RelayDomain = o.RelayDomain
	opts.SMTP.HeloName = o.HeloName
	opts.IMAP.Password = pw
	opts.POP3.Password = pw
	return func(ctx context.Context, env wire.Env, t Target) (any, bool) {
		obs := probes.Probe(ctx, env, t.Target, t.Listed, opts)
		return obs, probes.Answered(obs)
	}
}

// JudgeConfig is what turns observations into verdicts.
type JudgeConfig struct {
	Catalog *scoring.Catalog
	Policy  rules.Policy
	AsOf    time.Time
	// AdvisoriesFile replaces the shipped advisory data; ExceptionsFile
	// holds the operator's exceptions.
	AdvisoriesFile, ExceptionsFile string
	// CheckClock reads the scanner's own clock status for S3's warning.
	CheckClock bool
}

// Judge turns a server's observations into a record: items (probe
// verdicts combined with declarations) and findings. The same judge
// re-grades stored records (kensa grade --regrade).
type Judge struct {
	ctx rules.Context
	// Expired lists the exceptions that have expired at AsOf.
	Expired []advisory.Exception
}

// NewJudge loads the advisory data and exceptions.
func NewJudge(c JudgeConfig) (*Judge, error) {
	j := &Judge{ctx: rules.Context{Catalog: c.Catalog, Policy: c.Policy, AsOf: c.AsOf}}
	if j.ctx.Catalog == nil {
		j.ctx.Catalog = scoring.Mail
	}
	if c.AdvisoriesFile != "" {
		db, err := advisory.Load(c.AdvisoriesFile)
		if err != nil {
			return nil, err
		}
		j.ctx.Advisories = db
	} else {
		j.ctx.Advisories = advisory.Default()
	}
	if c.ExceptionsFile != "" {
		exc, err := advisory.LoadExceptions(c.ExceptionsFile)
		if err != nil {
			return nil, err
		}
		j.ctx.Exceptions = exc
		j.Expired = exc.Expired(c.AsOf)
	}
	if c.CheckClock {
		st := ntp.LocalClock()
		j.ctx.Clock = &st
	}
	return j, nil
}

// AdvisoriesAsOf returns the as-of date of the advisory data.
func (j *Judge) AdvisoriesAsOf() string { return j.ctx.Advisories.AsOf.String() }

// Clock returns the scanner's clock status, if it was checked.
func (j *Judge) Clock() *ntp.ClockStatus { return j.ctx.Clock }

// Conclude is the engine's Conclude hook.
func (j *Judge) Conclude(s *Server) *results.Record {
	obs := &probes.Observations{Problems: s.Problems}
	for _, a := range s.Addresses {
		obs.Addresses = append(obs.Addresses, a.String())
	}
	for _, a := range s.OutOfScope {
		obs.OutOfScope = append(obs.OutOfScope, a.String())
	}
	for _, t := range s.Targets {
		obs.Services = append(obs.Services, probes.Service{Service: t.Service, Address: t.Addr.Addr().String(),
			Port: int(t.Addr.Port()), Listed: t.Listed, State: t.State})
		if t.Observation != nil {
			obs.Add(t.Observation)
		}
	}
	obs.Fingerprints = fingerprint.Identify(obs.Banners())
	inv := s.Inv
	rec := &results.Record{
		Schema: results.Schema,
		Server: results.ServerRef{ID: inv.ID, Org: inv.Org, Unit: inv.Unit, Host: inv.Host,
			Addresses: obs.Addresses, Declared: inv.Declared},
		Started:    s.Started.UTC(),
		DurationMS: s.Duration.Milliseconds(),
		Undeclared: s.Undeclared(),
	}
	for _, svc := range inv.Services {
		rec.Server.Services = append(rec.Server.Services, fmt.Sprintf("%s:%d", svc.Name, svc.Port))
	}
	j.judge(rec, obs)
	b, err := json.Marshal(obs)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "observations could not be encoded: " + err.Error()})
	}
	rec.Observations = b
	return rec
}

// judge fills the record's items and findings from obs.
func (j *Judge) judge(rec *results.Record, obs *probes.Observations) {
	listed := map[string]bool{}
	for _, svc := range rec.Server.Services {
		name, _, _ := strings.Cut(svc, ":")
		listed[name] = true
	}
	rec.Items = rules.Judge(j.ctx, rec.Server.ID, rec.Server.Host, listed, rec.Server.Declared, obs)
	rec.Findings = findings(obs)
	for _, e := range j.Expired {
		if e.AppliesTo(rec.Server.ID, rec.Server.Host) {
			rec.Findings = append(rec.Findings, "expired exception ignored: "+e.String())
		}
	}
	for _, u := range rec.Undeclared {
		rec.Findings = append(rec.Findings, "undeclared service answering: "+u)
	}
}

// Regrade re-derives a stored record's items from its observations under
// this judge's policy, advisory data and exceptions.
func (j *Judge) Regrade(rec *results.Record) error {
	var obs probes.Observations
	if err := json.Unmarshal(rec.Observations, &obs); err != nil {
		return fmt.Errorf("record of %s: observations: %w", rec.Server.ID, err)
	}
	j.judge(rec, &obs)
	return nil
}

// findings lists what changes no verdict under the default policy but an
// inspector wants to see: weak SSH algorithms, weak TLS.
func findings(obs *probes.Observations) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, o := range obs.SSH {
		for _, f := range o.Findings {
			if f.Weak() {
				add(fmt.Sprintf("%s:%d ssh: %s %s: %s", o.Address, o.Port, f.Severity, f.Algorithm, f.Reason))
			}
		}
	}
	tls := func(addr string, port int, service string, info *wire.TLSInfo) {
		if info == nil {
			return
		}
		for _, w := range info.Weak {
			add(fmt.Sprintf("%s:%d %s: TLS: %s", addr, port, service, w))
		}
	}
	for _, o := range obs.SMTP {
		tls(o.Address, o.Port, o.Service, o.TLS)
	}
	for _, o := range obs.IMAP {
		tls(o.Address, o.Port, o.Service, o.TLS)
	}
	for _, o := range obs.POP3 {
		tls(o.Address, o.Port, o.Service, o.TLS)
	}
	sort.Strings(out)
	return out
}

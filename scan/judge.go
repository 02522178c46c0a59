package scan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/fingerprint"
	"github.com/kensa-inspect/kensa/observe"
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
func MailProbe(o ProbeOptions) func(ctx context.Context, env wire.Env, t Target) (observe.Observation, bool) {
	var b [12]byte
	rand.Read(b[:])
	pw := "kensa-" + hex.EncodeToString(b[:])
	opts := probes.Options{}
	opts.SMTP.RelayDomain = o.RelayDomain
	opts.SMTP.HeloName = o.HeloName
	opts.IMAP.Password = pw
	opts.POP3.Password = pw
	return func(ctx context.Context, env wire.Env, t Target) (observe.Observation, bool) {
		obs, answered, err := probes.Probe(ctx, env, t.Target, t.Listed, opts)
		if err != nil {
			// The inventory's service names were validated against the
			// registry: an unknown one is a bug, not a server's answer.
			env.Logger().Error("no probe", "target", t.String(), "err", err)
		}
		return obs, answered
	}
}

// JudgeConfig is what turns observations into verdicts.
type JudgeConfig struct {
	Catalog *scoring.Catalog
	Policy  rules.Policy
	// AsOf is the evaluation date; only its UTC day counts, so that the
	// judge can be rebuilt from the date a record carries.
	AsOf time.Time
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
	// advPath and excPath are the files given ("" for the shipped
	// advisory data, or no exceptions); advDigest and excDigest their
	// digests.
	advPath, advDigest string
	excPath, excDigest string
}

// NewJudge loads the advisory data and exceptions. A file that cannot
// be loaded is a *JudgeDataError naming which.
func NewJudge(c JudgeConfig) (*Judge, error) {
	j := &Judge{ctx: rules.Context{Catalog: c.Catalog, Policy: c.Policy, AsOf: Day(c.AsOf)}}
	if j.ctx.Catalog == nil {
		j.ctx.Catalog = scoring.MailCatalog
	}
	if c.AdvisoriesFile != "" {
		db, err := advisory.Load(c.AdvisoriesFile)
		if err != nil {
			return nil, &JudgeDataError{Field: JudgeAdvisories, Path: c.AdvisoriesFile, Err: err}
		}
		j.ctx.Advisories = db
		j.advPath = c.AdvisoriesFile
	} else {
		j.ctx.Advisories = advisory.Default()
	}
	j.advDigest = j.ctx.Advisories.Digest()
	if c.ExceptionsFile != "" {
		exc, err := advisory.LoadExceptions(c.ExceptionsFile)
		if err != nil {
			return nil, &JudgeDataError{Field: JudgeExceptions, Path: c.ExceptionsFile, Err: err}
		}
		j.ctx.Exceptions = exc
		j.Expired = exc.Expired(j.ctx.AsOf)
		j.excPath, j.excDigest = c.ExceptionsFile, exc.Digest
	}
	if c.CheckClock {
		st := ntp.LocalClock()
		j.ctx.Clock = &st
	}
	return j, nil
}

// Day returns the start of t's UTC day: evaluation dates are days.
func Day(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// AdvisoriesAsOf returns the as-of date of the advisory data.
func (j *Judge) AdvisoriesAsOf() string { return j.ctx.Advisories.AsOf.String() }

// AdvisoriesDigest returns the digest of the advisory data as loaded
// (advisory.DB.Digest).
func (j *Judge) AdvisoriesDigest() string { return j.advDigest }

// ExceptionsDigest returns the digest of the exceptions file, or "" when
// there is none.
func (j *Judge) ExceptionsDigest() string { return j.excDigest }

// Policy returns the rules policy.
func (j *Judge) Policy() rules.Policy { return j.ctx.Policy }

// AsOf returns the evaluation date.
func (j *Judge) AsOf() time.Time { return j.ctx.AsOf }

// Stamp writes what identifies the judge into a record's scan metadata:
// the policy (and its digest), the evaluation date, and the advisory
// data and exceptions (files and digests), so that a resumed scan or a
// re-grade can use the same judge.
func (j *Judge) Stamp(m *results.ScanMeta) {
	m.PolicyDigest = j.ctx.Policy.Digest()
	m.Policy, _ = json.Marshal(j.ctx.Policy)
	m.AsOf = j.ctx.AsOf.Format(time.DateOnly)
	m.AdvisoriesAsOf = j.AdvisoriesAsOf()
	m.AdvisoriesPath, m.AdvisoriesDigest = j.advPath, j.advDigest
	m.ExceptionsPath, m.ExceptionsDigest = j.excPath, j.excDigest
}

// Clock returns the scanner's clock status, if it was checked.
func (j *Judge) Clock() *observe.ClockStatus { return j.ctx.Clock }

// JudgeServer is the engine's Judge hook: it collects what the probes saw
// of one server, reads fingerprints from its banners and judges it into
// a record.
func (j *Judge) JudgeServer(s *Server) *results.Record {
	obs := &observe.Observations{Problems: s.Problems}
	for _, a := range s.Addresses {
		obs.Addresses = append(obs.Addresses, a.String())
	}
	for _, a := range s.OutOfScope {
		obs.OutOfScope = append(obs.OutOfScope, a.String())
		// The listed services of an address outside the scope were
		// planned as much as any other: never contacted.
		for _, svc := range s.Inv.Services {
			obs.Services = append(obs.Services, observe.Service{Service: svc.Name, Address: a.String(), Port: svc.Port,
				Listed: true, State: observe.StateOutOfScope})
		}
	}
	for _, t := range s.Targets {
		obs.Services = append(obs.Services, observe.Service{Service: t.Service, Address: t.Addr.Addr().String(),
			Port: int(t.Addr.Port()), Listed: t.Listed, State: t.State})
		if t.Observation != nil {
			obs.Add(t.Observation)
		}
	}
	if s.Content != nil {
		obs.Add(s.Content)
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
func (j *Judge) judge(rec *results.Record, obs *observe.Observations) {
	listed := map[string]bool{}
	for _, svc := range rec.Server.Services {
		name, _, _ := strings.Cut(svc, ":")
		listed[name] = true
	}
	rec.Items = rules.Judge(j.ctx, rec.Server.ID, rec.Server.Host, listed, rec.Server.Declared, obs)
	rec.Findings = rules.Findings(j.ctx, rec.Server.ID, rec.Server.Host, obs, rec.Undeclared)
}

// JudgeDataError reports advisory data or exceptions that NewJudge
// cannot load. Its message is the loader's own, which names the file.
type JudgeDataError struct {
	// Field is JudgeAdvisories or JudgeExceptions.
	Field JudgeField
	// Path is the file given.
	Path string
	// Err is the loader's error.
	Err error
}

func (e *JudgeDataError) Error() string { return e.Err.Error() }

// Unwrap returns the loader's error.
func (e *JudgeDataError) Unwrap() error { return e.Err }

// RegradeSet re-derives every record of set from its observations
// (Regrade) and stamps the set's metadata with this judge, so that the
// reports made from it name the judge that judged it. It stops at the
// first record whose observations cannot be read.
func (j *Judge) RegradeSet(set *results.Set) error {
	for _, rec := range set.Records {
		if err := j.Regrade(rec); err != nil {
			return err
		}
	}
	j.Stamp(&set.Meta)
	return nil
}

// Regrade re-derives a stored record's items and findings from its
// observations under this judge's policy, evaluation date, advisory
// data and exceptions, and stamps the record's scan metadata with them.
func (j *Judge) Regrade(rec *results.Record) error {
	var obs observe.Observations
	if err := json.Unmarshal(rec.Observations, &obs); err != nil {
		return fmt.Errorf("record of %s: observations: %w", rec.Server.ID, err)
	}
	j.judge(rec, &obs)
	j.Stamp(&rec.Scan)
	return nil
}

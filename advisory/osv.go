package advisory

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The parts of the OSV schema the importer reads.
type osvRecord struct {
	ID        string   `json:"id"`
	Modified  string   `json:"modified"`
	Published string   `json:"published"`
	Withdrawn string   `json:"withdrawn"`
	Aliases   []string `json:"aliases"`
	Related   []string `json:"related"`
	Upstream  []string `json:"upstream"`
	Summary   string   `json:"summary"`
	Details   string   `json:"details"`
	Severity  []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced   string `json:"introduced"`
				Fixed        string `json:"fixed"`
				LastAffected string `json:"last_affected"`
			} `json:"events"`
		} `json:"ranges"`
		Versions          []string       `json:"versions"`
		EcosystemSpecific map[string]any `json:"ecosystem_specific"`
	} `json:"affected"`
	References []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"references"`
}

var cveID = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)

// osvEcosystem splits "Debian:12", "Ubuntu:22.04:LTS" into a distribution
// and release. Ubuntu Pro (ESM) entries are skipped: their fixes need a
// subscription, so they are not free security updates.
func osvEcosystem(eco string) (distro, release string, ok bool) {
	parts := strings.Split(eco, ":")
	if len(parts) < 2 {
		return "", "", false
	}
	switch strings.ToLower(parts[0]) {
	case "debian":
		return "debian", parts[1], true
	case "ubuntu":
		if strings.EqualFold(parts[1], "Pro") {
			return "", "", false
		}
		return "ubuntu", parts[1], true
	}
	return "", "", false
}

// ImportOSV reads OSV records of the Debian and Ubuntu ecosystems (DSA,
// DLA, DEBIAN-CVE, USN and UBUNTU-CVE records) from files, directories
// and .zip archives (as osv.dev publishes them per ecosystem), for
// `kensa advisories import --osv FILE|DIR|ZIP`. A file may hold one
// record, a list of records, or an API answer {"vulns": [...]}. Affected
// source packages kensa knows (exim4, postfix, openssh ...) become
// distribution entries: a "fixed" event gives the first fixed package
// version; an ECOSYSTEM range without one means no fix was released.
// DEBIAN-CVE-… and UBUNTU-CVE-… records are filed under their CVE id.
// A product named in opt.Complete that the records do not mention is
// refused.
func ImportOSV(paths []string, opt ImportOptions) (*DB, error) {
	if err := opt.canonicalize(); err != nil {
		return nil, err
	}
	db, err := importOSV(paths, opt)
	if err != nil {
		return nil, err
	}
	return db, checkComplete(db, opt.Complete)
}

func importOSV(paths []string, opt ImportOptions) (*DB, error) {
	files, err := readInputs(paths, opt)
	if err != nil {
		return nil, err
	}
	db := &DB{}
	var newest time.Time
	for _, f := range files {
		recs, err := decodeOSV(f.data)
		if err != nil {
			return nil, fmt.Errorf("import osv: %s: %w", f.name, err)
		}
		for _, r := range recs {
			if t, err := time.Parse(time.RFC3339Nano, r.Modified); err == nil && t.After(newest) {
				newest = t
			}
			db.Advisories = append(db.Advisories, osvAdvisories(r)...)
		}
	}
	merged := Merge(db)
	out := &DB{Advisories: merged.Advisories}
	for _, p := range paths {
		out.Sources = append(out.Sources, "osv: "+p)
	}
	return finish(out, opt, newest, "imported from OSV (Debian and Ubuntu ecosystems)"), nil
}

func decodeOSV(b []byte) ([]osvRecord, error) {
	switch jsonPrefix(b) {
	case '[':
		var recs []osvRecord
		if err := json.Unmarshal(b, &recs); err != nil {
			return nil, err
		}
		return recs, nil
	case '{':
		var probe struct {
			Vulns []osvRecord `json:"vulns"`
			ID    string      `json:"id"`
		}
		if err := json.Unmarshal(b, &probe); err != nil {
			return nil, err
		}
		if probe.ID == "" && probe.Vulns != nil {
			return probe.Vulns, nil
		}
		var r osvRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, err
		}
		if r.ID == "" {
			return nil, fmt.Errorf("not an OSV record (no id)")
		}
		return []osvRecord{r}, nil
	}
	return nil, fmt.Errorf("not JSON")
}

func osvAdvisories(r osvRecord) []Advisory {
	if r.ID == "" || r.Withdrawn != "" {
		return nil
	}
	id := r.ID
	var aliases []string
	for _, prefix := range []string{"DEBIAN-", "UBUNTU-"} {
		if strings.HasPrefix(id, prefix) && cveID.MatchString(strings.TrimPrefix(id, prefix)) {
			aliases = append(aliases, id)
			id = strings.TrimPrefix(id, prefix)
		}
	}
	for _, group := range [][]string{r.Aliases, r.Upstream, r.Related} {
		for _, a := range group {
			a = strings.TrimPrefix(strings.TrimPrefix(a, "UBUNTU-"), "DEBIAN-")
			if a != id {
				aliases = append(aliases, a)
			}
		}
	}
	aliases = unionStrings(nil, aliases)
	source := osvSource(r.ID)
	for _, ref := range r.References {
		if ref.Type == "ADVISORY" && ref.URL != "" && !strings.Contains(source, ref.URL) {
			source += " " + ref.URL
			break
		}
	}
	var pub Date
	if t, err := time.Parse(time.RFC3339Nano, r.Published); err == nil {
		pub = Date{t.UTC().Truncate(24 * time.Hour)}
	}
	summary := r.Summary
	if summary == "" {
		summary = strings.SplitN(r.Details, "\n", 2)[0]
	}
	if len(summary) > 300 {
		summary = summary[:297] + "..."
	}
	remote := false
	severity := ""
	for _, s := range r.Severity {
		if strings.HasPrefix(s.Type, "CVSS") && strings.Contains(s.Score, "AV:N") {
			remote = true
		}
		if s.Type == "Ubuntu" {
			severity = strings.ToLower(s.Score)
		}
	}
	byProduct := map[string]*Advisory{}
	var order []string
	for _, af := range r.Affected {
		distro, release, ok := osvEcosystem(af.Package.Ecosystem)
		if !ok {
			continue
		}
		product, ok := sourcePackages[af.Package.Name]
		if !ok {
			continue
		}
		a := byProduct[product]
		if a == nil {
			a = &Advisory{ID: id, Aliases: aliases, Product: product, Summary: summary, Severity: severity,
				Remote: remote, Published: pub, Source: source}
			byProduct[product] = a
			order = append(order, product)
		}
		for _, rg := range af.Ranges {
			if rg.Type != "ECOSYSTEM" {
				continue
			}
			e := DistroFix{Distro: distro, Release: release, Package: af.Package.Name, Source: osvSource(r.ID)}
			for _, ev := range rg.Events {
				if ev.Fixed != "" {
					e.Fixed = ev.Fixed
				}
			}
			if e.Fixed == "" {
				e.Status = StatusAffected
			}
			a.Distro = appendDistro(a.Distro, e)
		}
	}
	var out []Advisory
	for _, p := range order {
		out = append(out, *byProduct[p])
	}
	return out
}

// appendDistro adds an entry; of two entries for the same release and
// package, the later fixed version wins (a fix is complete only then).
func appendDistro(ds []DistroFix, e DistroFix) []DistroFix {
	for i, d := range ds {
		if d.Distro == e.Distro && d.Release == e.Release && d.Package == e.Package {
			if e.Fixed != "" && (d.Fixed == "" || laterDeb(e.Fixed, d.Fixed)) {
				ds[i] = e
			}
			return ds
		}
	}
	return append(ds, e)
}

func osvSource(id string) string {
	switch {
	case strings.HasPrefix(id, "USN-"):
		return "https://ubuntu.com/security/notices/" + id
	case strings.HasPrefix(id, "UBUNTU-CVE-"):
		return "https://ubuntu.com/security/" + strings.TrimPrefix(id, "UBUNTU-")
	case strings.HasPrefix(id, "DSA-"), strings.HasPrefix(id, "DLA-"), strings.HasPrefix(id, "DTSA-"):
		return "https://security-tracker.debian.org/tracker/" + id
	case strings.HasPrefix(id, "DEBIAN-CVE-"):
		return "https://security-tracker.debian.org/tracker/" + strings.TrimPrefix(id, "DEBIAN-")
	}
	return "https://osv.dev/vulnerability/" + id
}

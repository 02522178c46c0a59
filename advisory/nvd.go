package advisory

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// cpeProducts maps NVD CPE vendor:product pairs to canonical products.
var cpeProducts = map[string]string{
	"exim:exim":                                  "Exim",
	"postfix:postfix":                            "Postfix",
	"sendmail:sendmail":                          "Sendmail",
	"proofpoint:sendmail":                        "Sendmail",
	"openbsd:opensmtpd":                          "OpenSMTPD",
	"opensmtpd:opensmtpd":                        "OpenSMTPD",
	"dovecot:dovecot":                            "Dovecot",
	"open-xchange:dovecot":                       "Dovecot",
	"openbsd:openssh":                            "OpenSSH",
	"cmu:cyrus_imap_server":                      "Cyrus",
	"cyrusimap:cyrus_imap":                       "Cyrus",
	"cyrus:imapd":                                "Cyrus",
	"university_of_washington:imap":              "UW-IMAP",
	"uw:imap":                                    "UW-IMAP",
	"qualcomm:qpopper":                           "Qpopper",
	"microsoft:exchange_server":                  "Microsoft Exchange",
	"zimbra:collaboration":                       "Zimbra",
	"zimbra:collaboration_suite":                 "Zimbra",
	"synacor:zimbra_collaboration_suite":         "Zimbra",
	"ibm:lotus_domino":                           "Lotus Domino",
	"ibm:domino":                                 "Lotus Domino",
	"hcltech:domino":                             "Lotus Domino",
	"dropbear_ssh_project:dropbear_ssh":          "Dropbear",
	"matt_johnston:dropbear_ssh_server":          "Dropbear",
	"double_precision_incorporated:courier-imap": "Courier",
	"courier-mta:courier-imap":                   "Courier",
	"courier-mta:courier_mail_server":            "Courier",
	"djb:qmail":                                  "qmail",
}

// CPEProduct returns the canonical product of an NVD CPE 2.3 name
// ("cpe:2.3:a:exim:exim:4.92:*:..."), and the version field.
func CPEProduct(cpe string) (product, ver string, ok bool) {
	f := strings.Split(cpe, ":")
	if len(f) < 6 || f[0] != "cpe" || f[1] != "2.3" {
		return "", "", false
	}
	p, ok := cpeProducts[f[3]+":"+f[4]]
	ver = f[5]
	// OpenSSH portable releases put "p1" in the update field.
	if len(f) > 6 && len(f[6]) >= 2 && f[6][0] == 'p' && strings.Trim(f[6][1:], "0123456789") == "" && ver != "*" && ver != "-" {
		ver += f[6]
	}
	return p, ver, ok
}

// The parts of the NVD CVE API 2.0 schema the importer reads.
type nvdResponse struct {
	Format          string    `json:"format"`
	Version         string    `json:"version"`
	Timestamp       string    `json:"timestamp"`
	Vulnerabilities []nvdItem `json:"vulnerabilities"`
}

type nvdItem struct {
	CVE nvdCVE `json:"cve"`
}

type nvdCVE struct {
	ID           string `json:"id"`
	Published    string `json:"published"`
	LastModified string `json:"lastModified"`
	VulnStatus   string `json:"vulnStatus"`
	Descriptions []struct {
		Lang  string `json:"lang"`
		Value string `json:"value"`
	} `json:"descriptions"`
	Metrics struct {
		V40 []nvdMetric `json:"cvssMetricV40"`
		V31 []nvdMetric `json:"cvssMetricV31"`
		V30 []nvdMetric `json:"cvssMetricV30"`
		V2  []nvdMetric `json:"cvssMetricV2"`
	} `json:"metrics"`
	Configurations []struct {
		Nodes []nvdNode `json:"nodes"`
	} `json:"configurations"`
}

type nvdMetric struct {
	Type     string `json:"type"`
	CVSSData struct {
		BaseScore    float64 `json:"baseScore"`
		BaseSeverity string  `json:"baseSeverity"`
		AttackVector string  `json:"attackVector"`
		AccessVector string  `json:"accessVector"`
		VectorString string  `json:"vectorString"`
	} `json:"cvssData"`
	BaseSeverity string `json:"baseSeverity"`
}

type nvdNode struct {
	Operator string `json:"operator"`
	Negate   bool   `json:"negate"`
	CPEMatch []struct {
		Vulnerable            bool   `json:"vulnerable"`
		Criteria              string `json:"criteria"`
		VersionStartIncluding string `json:"versionStartIncluding"`
		VersionStartExcluding string `json:"versionStartExcluding"`
		VersionEndIncluding   string `json:"versionEndIncluding"`
		VersionEndExcluding   string `json:"versionEndExcluding"`
	} `json:"cpeMatch"`
}

// ImportNVD reads NVD CVE API 2.0 responses or 2.0 data feeds (JSON, or
// gzipped JSON) from files and directories and returns the advisories of
// the products kensa knows (by CPE vendor and product), for
// `kensa advisories import --nvd FILE|DIR`. Each vulnerable CPE match
// becomes an upstream range: versionStartIncluding/Excluding and
// versionEndIncluding/Excluding, or the CPE's own version when it names
// one. A CVE is remote when a CVSS metric has a network attack vector.
func ImportNVD(paths []string, opt ImportOptions) (*DB, error) {
	if err := opt.canonicalize(); err != nil {
		return nil, err
	}
	files, err := readInputs(paths, opt)
	if err != nil {
		return nil, err
	}
	db := &DB{}
	var newest time.Time
	for _, f := range files {
		if jsonPrefix(f.data) != '{' {
			return nil, fmt.Errorf("import nvd: %s is not an NVD CVE API 2.0 JSON object", f.name)
		}
		var r nvdResponse
		if err := json.Unmarshal(f.data, &r); err != nil {
			return nil, fmt.Errorf("import nvd: %s: %w", f.name, err)
		}
		if r.Vulnerabilities == nil {
			return nil, fmt.Errorf("import nvd: %s has no \"vulnerabilities\" list (not an NVD CVE API 2.0 response)", f.name)
		}
		if t, err := parseNVDTime(r.Timestamp); err == nil && t.After(newest) {
			newest = t
		}
		for _, v := range r.Vulnerabilities {
			for _, a := range nvdAdvisories(v.CVE) {
				if opt.RemoteOnly && !a.Remote {
					continue
				}
				db.Advisories = append(db.Advisories, a)
			}
		}
	}
	merged := Merge(db)
	out := &DB{Advisories: merged.Advisories}
	return finish(out, opt, newest, "imported from NVD CVE API 2.0 JSON"), nil
}

func parseNVDTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000", "2006-01-02T15:04:05", time.RFC3339Nano, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad NVD time %q", s)
}

func nvdAdvisories(c nvdCVE) []Advisory {
	if c.ID == "" || strings.EqualFold(c.VulnStatus, "Rejected") {
		return nil
	}
	ranges := map[string][]Range{}
	var order []string
	for _, cfg := range c.Configurations {
		for _, n := range cfg.Nodes {
			if n.Negate {
				continue
			}
			for _, m := range n.CPEMatch {
				if !m.Vulnerable {
					continue
				}
				product, ver, ok := CPEProduct(m.Criteria)
				if !ok {
					continue
				}
				r, ok := nvdRange(ver, m.VersionStartIncluding, m.VersionStartExcluding, m.VersionEndIncluding, m.VersionEndExcluding)
				if !ok {
					continue
				}
				if _, seen := ranges[product]; !seen {
					order = append(order, product)
				}
				if !containsRange(ranges[product], r) {
					ranges[product] = append(ranges[product], r)
				}
			}
		}
	}
	if len(order) == 0 {
		return nil
	}
	sev, remote := nvdSeverity(c)
	summary := ""
	for _, d := range c.Descriptions {
		if d.Lang == "en" {
			summary = d.Value
			break
		}
	}
	if len(summary) > 300 {
		summary = summary[:297] + "..."
	}
	var pub Date
	if t, err := parseNVDTime(c.Published); err == nil {
		pub = Date{t.UTC().Truncate(24 * time.Hour)}
	}
	var out []Advisory
	for _, p := range order {
		a := Advisory{
			ID: c.ID, Product: p, Summary: summary, Severity: sev, Remote: remote,
			Published: pub, Source: "https://nvd.nist.gov/vuln/detail/" + c.ID,
			Affected: ranges[p],
		}
		for _, r := range ranges[p] {
			if r.Fixed != "" {
				a.Fixed = unionStrings(a.Fixed, []string{r.Fixed})
			}
		}
		sort.Strings(a.Fixed)
		out = append(out, a)
	}
	return out
}

// nvdRange turns a CPE match into a range. versionStartExcluding has no
// exact counterpart; it is kept as an inclusive start, which can only
// widen the range (a false "affected" at exactly that version, never a
// missed one).
func nvdRange(cpeVersion, startIncl, startExcl, endIncl, endExcl string) (Range, bool) {
	var r Range
	if cpeVersion != "*" && cpeVersion != "-" && cpeVersion != "" {
		v := strings.ReplaceAll(cpeVersion, `\`, "")
		return Range{Introduced: v, LastAffected: v}, true
	}
	r.Introduced = startIncl
	if r.Introduced == "" {
		r.Introduced = startExcl
	}
	switch {
	case endExcl != "":
		r.Fixed = endExcl
	case endIncl != "":
		r.LastAffected = endIncl
	}
	if r.Introduced == "" && r.Fixed == "" && r.LastAffected == "" {
		// "every version": keep as affected from the first version.
		r.Introduced = "0"
	}
	return r, true
}

func nvdSeverity(c nvdCVE) (severity string, remote bool) {
	pick := func(ms []nvdMetric) (nvdMetric, bool) {
		for _, m := range ms {
			if m.Type == "Primary" {
				return m, true
			}
		}
		if len(ms) > 0 {
			return ms[0], true
		}
		return nvdMetric{}, false
	}
	for _, ms := range [][]nvdMetric{c.Metrics.V40, c.Metrics.V31, c.Metrics.V30} {
		if m, ok := pick(ms); ok {
			return strings.ToLower(m.CVSSData.BaseSeverity), strings.EqualFold(m.CVSSData.AttackVector, "NETWORK")
		}
	}
	if m, ok := pick(c.Metrics.V2); ok {
		return strings.ToLower(m.BaseSeverity), strings.EqualFold(m.CVSSData.AccessVector, "NETWORK")
	}
	return "", false
}

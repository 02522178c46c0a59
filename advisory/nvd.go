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
//
// A CVE that NVD has not analysed (no configurations) cannot be
// imported: it is listed in the result's Dropped when its description
// names a product kensa knows, and counted in DroppedOther otherwise. A
// product named in opt.Complete that the feed holds no record of is
// refused.
func ImportNVD(paths []string, opt ImportOptions) (*DB, error) {
	if err := opt.canonicalize(); err != nil {
		return nil, err
	}
	db, err := importNVD(paths, opt)
	if err != nil {
		return nil, err
	}
	return db, checkComplete(db, opt.Complete)
}

func importNVD(paths []string, opt ImportOptions) (*DB, error) {
	files, err := readInputs(paths, opt)
	if err != nil {
		return nil, err
	}
	db := &DB{}
	var newest time.Time
	unanalysed := map[string]Dropped{}
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
			if d, ok := nvdUnanalysed(v.CVE); ok {
				unanalysed[d.ID] = d
				continue
			}
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
	// A CVE unanalysed in one file but analysed in another (a newer
	// feed) was not dropped.
	analysed := map[string]bool{}
	for _, a := range merged.Advisories {
		analysed[a.ID] = true
	}
	for id, d := range unanalysed {
		switch {
		case analysed[id]:
		case len(d.Products) > 0:
			out.Dropped = append(out.Dropped, d)
		default:
			out.DroppedOther++
		}
	}
	for _, p := range paths {
		out.Sources = append(out.Sources, "nvd: "+p)
	}
	return finish(out, opt, newest, "imported from NVD CVE API 2.0 JSON"), nil
}

// nvdUnanalysed returns the record of a CVE that NVD has not analysed:
// not rejected, with no configurations, so no product and no version
// range to import. Its description is searched for the products kensa
// knows, which are the record's Products.
func nvdUnanalysed(c nvdCVE) (Dropped, bool) {
	if c.ID == "" || strings.EqualFold(c.VulnStatus, "Rejected") || len(c.Configurations) > 0 {
		return Dropped{}, false
	}
	d := Dropped{ID: c.ID, Status: c.VulnStatus, Source: "https://nvd.nist.gov/vuln/detail/" + c.ID,
		Reason: "not analysed by NVD: no configurations, so no product or version range"}
	if t, err := parseNVDTime(c.Published); err == nil {
		d.Published = Date{t.UTC().Truncate(24 * time.Hour)}
	}
	for _, desc := range c.Descriptions {
		if desc.Lang == "en" {
			d.Products = productsNamed(desc.Value)
			break
		}
	}
	return d, true
}

// productNames are the words that name each product kensa knows in a
// description, lower case: the canonical name, the Debian source
// package, and other common spellings. "Exchange" alone is left out (SSH
// descriptions speak of key exchange).
var productNames = map[string][]string{
	"Exim":                         {"exim", "exim4"},
	"Postfix":                      {"postfix"},
	"Sendmail":                     {"sendmail"},
	"OpenSMTPD":                    {"opensmtpd"},
	"Dovecot":                      {"dovecot"},
	"OpenSSH":                      {"openssh"},
	"Cyrus":                        {"cyrus imap", "cyrus-imap", "cyrus imapd", "cyrus-imapd", "cyrus"},
	"UW-IMAP":                      {"uw-imap", "uw imap", "university of washington imap"},
	"Qpopper":                      {"qpopper"},
	"Microsoft Exchange":           {"microsoft exchange", "exchange server"},
	"Microsoft SMTP Service (IIS)": {"microsoft smtp service", "iis smtp", "smtp service in microsoft internet information services", "smtp service in iis"},
	"Zimbra":                       {"zimbra"},
	"Lotus Domino":                 {"lotus domino", "hcl domino", "ibm domino", "domino"},
	"Dropbear":                     {"dropbear"},
	"Courier":                      {"courier-imap", "courier mail server", "courier-mta", "courier"},
	"qmail":                        {"qmail", "netqmail"},
}

// productsNamed returns the products kensa knows that text names (whole
// words, case-insensitive), sorted.
func productsNamed(text string) []string {
	t := " " + strings.ToLower(text) + " "
	var out []string
	for product, names := range productNames {
		for _, n := range names {
			if containsWord(t, n) {
				out = append(out, product)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// containsWord reports whether w occurs in t with no letter or digit
// right before or after it.
func containsWord(t, w string) bool {
	for i := 0; ; {
		j := strings.Index(t[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before, after := byte(' '), byte(' ')
		if j > 0 {
			before = t[j-1]
		}
		if j+len(w) < len(t) {
			after = t[j+len(w)]
		}
		if !isWordByte(before) && !isWordByte(after) {
			return true
		}
		i = j + 1
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_'
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

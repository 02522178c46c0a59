package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kensa-inspect/kensa/internal/textable"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// recordServices is the part of a record's observations the text view
// shows besides verdicts.
type recordServices struct {
	Services     []observe.Service `json:"services"`
	Problems     []string          `json:"problems"`
	Fingerprints []struct {
		Service       string   `json:"service"`
		Address       string   `json:"address"`
		Port          int      `json:"port"`
		Product       string   `json:"product"`
		Version       string   `json:"version"`
		Distro        string   `json:"distro"`
		DistroRelease string   `json:"distro_release"`
		Package       string   `json:"package_version"`
		OS            string   `json:"os"`
		Evidence      []string `json:"evidence"`
	} `json:"fingerprints"`
}

// software says what a fingerprint shows of a service's software:
// "Postfix 3.7.10 (debian 12, package 3.7.10-0+deb12u1)".
func (l *labels) software(product, version, distro, release, pkg, os string) string {
	what := product
	if what == "" {
		what = l.ProbeNotKnown
	}
	if version != "" {
		what += " " + version
	}
	var extra []string
	if distro != "" {
		extra = append(extra, strings.TrimSpace(distro+" "+release))
	}
	if pkg != "" {
		extra = append(extra, "package "+pkg)
	}
	if os != "" && distro == "" {
		extra = append(extra, os)
	}
	if len(extra) > 0 {
		what += " (" + strings.Join(extra, ", ") + ")"
	}
	return what
}

// softwareOf returns, per service, what a record's banners showed of
// its software: the fingerprint, and the banner lines it was read from,
// verbatim — or, when no product was recognised, the service's greeting
// or identification itself. Nothing when the record was read without its
// observations.
func softwareOf(rec *results.Record, l *labels) []softwareView {
	if len(rec.Observations) == 0 {
		return nil
	}
	var obs observe.Observations
	if json.Unmarshal(rec.Observations, &obs) != nil {
		return nil
	}
	type key struct {
		service, address string
		port             int
	}
	said := map[key][]string{}
	for _, b := range obs.Banners() {
		switch b.Kind {
		case "greeting", "identification", "id", "prompt":
			k := key{b.Service, b.Address, b.Port}
			for _, line := range strings.Split(b.Text, "\n") {
				said[k] = append(said[k], b.Kind+": "+line)
			}
		}
	}
	var out []softwareView
	for _, f := range obs.Fingerprints {
		banners := f.Evidence
		if len(banners) == 0 {
			banners = said[key{f.Service, f.Address, f.Port}]
		}
		out = append(out, softwareView{Where: fmt.Sprintf("%s:%d %s", f.Address, f.Port, f.Service),
			What: l.software(f.Product, f.Version, f.Distro, f.DistroRelease, f.PackageVersion, f.OS), Banners: banners})
	}
	return out
}

// WriteRecordText shows one server's record for a person: services,
// software, and every item's verdict with its reason and evidence, with
// headings, outcome words and item names in lang ("ja" or "en");
// evidence lines stay verbatim.
func WriteRecordText(w io.Writer, rec *results.Record, cat *scoring.Catalog, lang string) error {
	l := labelsFor(lang)
	var b strings.Builder
	s := rec.Server
	fmt.Fprintf(&b, "kensa probe %s", s.Host)
	if len(s.Addresses) > 0 && !(len(s.Addresses) == 1 && s.Addresses[0] == s.Host) {
		fmt.Fprintf(&b, " (%s)", strings.Join(s.Addresses, ", "))
	}
	fmt.Fprintf(&b, " — %s, %d ms\n", rec.Started.Format("2006-01-02 15:04:05 MST"), rec.DurationMS)
	fmt.Fprintf(&b, l.ProbeAdvisories+"\n", orDash(rec.Scan.AdvisoriesAsOf), orDash(rec.Scan.AsOf))
	var obs recordServices
	_ = json.Unmarshal(rec.Observations, &obs)
	for _, p := range obs.Problems {
		fmt.Fprintf(&b, l.ProbeProblem+"\n", p)
	}
	b.WriteString("\n" + l.ProbeServices + "\n")
	for _, sv := range obs.Services {
		if sv.State != observe.StateAnswered && !sv.Listed {
			continue
		}
		how := l.ProbeListed
		if !sv.Listed {
			how = l.ProbeDiscovered
		}
		fmt.Fprintf(&b, "  %-10s %s:%d  %s (%s)\n", sv.Service, sv.Address, sv.Port, sv.State, how)
	}
	if len(obs.Fingerprints) > 0 {
		b.WriteString("\n" + l.ProbeSoftware + "\n")
		for _, f := range obs.Fingerprints {
			fmt.Fprintf(&b, "  %-10s %s:%d  %s\n", f.Service, f.Address, f.Port, l.software(f.Product, f.Version, f.Distro, f.DistroRelease, f.Package, f.OS))
		}
	}
	b.WriteString("\n" + l.ProbeVerdicts + "\n")
	wordWidth := 0
	for _, o := range []scoring.Outcome{scoring.Pass, scoring.Fail, scoring.Unknown, scoring.NA} {
		wordWidth = max(wordWidth, textable.Width(l.outcome(o)))
	}
	for _, it := range cat.Items {
		v, ok := rec.Items[it.Code]
		if !ok {
			continue
		}
		tag := ""
		if !it.Graded {
			tag = l.ProbeSupplementaryTag
		}
		word := l.outcome(v.Outcome)
		fmt.Fprintf(&b, "  %s %s%s %s%s\n", it.Code, word, strings.Repeat(" ", max(0, wordWidth-textable.Width(word))), it.Name(lang), tag)
		if v.Outcome == scoring.NA {
			continue
		}
		fmt.Fprintf(&b, "     %s: %s\n", l.source(v.Source), v.Reason)
		if v.Discrepancy {
			fmt.Fprintf(&b, "     "+l.ProbeDiscrepancy+"\n", l.outcome(v.Probed), l.outcome(v.Declared))
		}
		if v.Exception != "" {
			fmt.Fprintf(&b, "     "+l.ProbeByException+"\n", v.Exception)
		}
		for _, ev := range v.Evidence {
			fmt.Fprintf(&b, "       | %s\n", ev)
		}
	}
	if len(rec.Findings) > 0 {
		b.WriteString("\n" + l.ProbeFindings + "\n")
		for _, f := range rec.Findings {
			fmt.Fprintf(&b, "  - %s\n", f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

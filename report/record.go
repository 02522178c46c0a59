package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kensa-inspect/kensa/internal/textable"
	"github.com/kensa-inspect/kensa/probes"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// recordServices is the part of a record's observations the text view
// shows besides verdicts.
type recordServices struct {
	Services     []probes.Service `json:"services"`
	Problems     []string         `json:"problems"`
	Fingerprints []struct {
		Service       string `json:"service"`
		Address       string `json:"address"`
		Port          int    `json:"port"`
		Product       string `json:"product"`
		Version       string `json:"version"`
		Distro        string `json:"distro"`
		DistroRelease string `json:"distro_release"`
		Package       string `json:"package_version"`
		OS            string `json:"os"`
	} `json:"fingerprints"`
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
		if sv.State != probes.StateAnswered && !sv.Listed {
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
			what := f.Product
			if what == "" {
				what = l.ProbeNotKnown
			}
			if f.Version != "" {
				what += " " + f.Version
			}
			var extra []string
			if f.Distro != "" {
				extra = append(extra, strings.TrimSpace(f.Distro+" "+f.DistroRelease))
			}
			if f.Package != "" {
				extra = append(extra, "package "+f.Package)
			}
			if f.OS != "" && f.Distro == "" {
				extra = append(extra, f.OS)
			}
			if len(extra) > 0 {
				what += " (" + strings.Join(extra, ", ") + ")"
			}
			fmt.Fprintf(&b, "  %-10s %s:%d  %s\n", f.Service, f.Address, f.Port, what)
		}
	}
	b.WriteString("\n" + l.ProbeVerdicts + "\n")
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
		fmt.Fprintf(&b, "  %s %s%s %s%s\n", it.Code, word, strings.Repeat(" ", max(0, 7-textable.Width(word))), it.Name(lang), tag)
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

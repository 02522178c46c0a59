package remediation

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/scoring"
)

// Status is what became of a promise at a scan.
type Status string

// The statuses of a promise, worst first (the order reports list them
// in).
const (
	// Overdue: the due date has passed and the item still fails on a
	// server the promise covers.
	Overdue Status = "overdue"
	// OnTrack: the item still fails, and the due date has not passed.
	OnTrack Status = "on-track"
	// Unverified: nothing fails, but the item is unknown on a server
	// (or the promise covers no server of the scan, or none where the
	// item applies).
	Unverified Status = "unverified"
	// DeclaredDone: the item passes everywhere, somewhere by
	// declaration only.
	DeclaredDone Status = "declared-done"
	// Done: the item passes everywhere by probe.
	Done Status = "done"
)

var statusOrder = map[Status]int{Overdue: 0, OnTrack: 1, Unverified: 2, DeclaredDone: 3, Done: 4}

var statusLabels = map[string]map[Status]string{
	"en": {Overdue: "overdue", OnTrack: "on track", Unverified: "unverified", DeclaredDone: "declared done", Done: "done (verified by probe)"},
	"ja": {Overdue: "期限超過", OnTrack: "対応中（期限内）", Unverified: "未確認", DeclaredDone: "完了（申告のみ）", Done: "完了（実測で確認）"},
}

// Label names the status for people in lang ("ja" or "en").
func (s Status) Label(lang string) string {
	if l, ok := statusLabels[lang]; ok {
		return l[s]
	}
	return statusLabels["en"][s]
}

// Checked is a promise with what the scan showed of it.
type Checked struct {
	Promise
	Due    string `json:"due"`
	Status Status `json:"status"`
	// Reason says why, naming the servers that fail or stay unknown.
	Reason string `json:"reason"`
}

// Check says of every promise of the plan what the servers' verdicts
// show at the evaluation date asOf (a UTC day): a promise covers the
// servers of its organisation, or its one server. The list comes worst
// first — overdue, on track, unverified, declared done, done — then by
// due date, who promised and item. Servers without a record (Missing)
// count as unknown, as they do in the grade.
func (p *Plan) Check(servers []scoring.ServerOutcomes, asOf time.Time) []Checked {
	out := make([]Checked, 0, len(p.Promises))
	for _, pr := range p.Promises {
		out = append(out, check(pr, servers, asOf))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if statusOrder[a.Status] != statusOrder[b.Status] {
			return statusOrder[a.Status] < statusOrder[b.Status]
		}
		if !a.Promise.Due.Equal(b.Promise.Due) {
			return a.Promise.Due.Before(b.Promise.Due)
		}
		if a.Who() != b.Who() {
			return a.Who() < b.Who()
		}
		return a.Item < b.Item
	})
	return out
}

func check(pr Promise, servers []scoring.ServerOutcomes, asOf time.Time) Checked {
	c := Checked{Promise: pr, Due: pr.DueDate()}
	var covered int
	var fail, unknown, declared []string
	for _, s := range servers {
		if (pr.Server != "" && s.ID != pr.Server) || (pr.Server == "" && s.Org != pr.Org) {
			continue
		}
		covered++
		v, ok := s.Items[pr.Item]
		switch {
		case !ok || v.Outcome == scoring.Unknown:
			unknown = append(unknown, s.ID)
		case v.Outcome == scoring.Fail:
			fail = append(fail, s.ID)
		case v.Outcome == scoring.Pass && v.Source == scoring.FromDeclared:
			declared = append(declared, s.ID)
		case v.Outcome == scoring.Pass:
		default:
			covered-- // na: the item does not apply to this server
		}
	}
	passed := asOf.After(pr.Due)
	switch {
	case len(fail) > 0 && passed:
		c.Status = Overdue
		c.Reason = fmt.Sprintf("due %s, still failing on %s", c.Due, list(fail))
	case len(fail) > 0:
		c.Status = OnTrack
		c.Reason = fmt.Sprintf("due %s, still failing on %s", c.Due, list(fail))
	case covered == 0 && len(unknown) == 0:
		c.Status = Unverified
		c.Reason = fmt.Sprintf("no server of %s in the scan where %s applies", pr.Who(), pr.Item)
	case len(unknown) > 0:
		c.Status = Unverified
		c.Reason = fmt.Sprintf("unknown on %s", list(unknown))
	case len(declared) > 0:
		c.Status = DeclaredDone
		c.Reason = fmt.Sprintf("passes, by declaration only on %s", list(declared))
	default:
		c.Status = Done
		c.Reason = fmt.Sprintf("passes by probe on %d servers", covered)
	}
	return c
}

// list names servers, at most five, then how many more.
func list(ids []string) string {
	if len(ids) <= 5 {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:5], ", "), len(ids)-5)
}

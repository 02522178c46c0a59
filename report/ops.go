package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/remediation"
)

// TrendPoint is one scan's grade of one organisation, for the trend the
// HTML report draws (kensa report --history).
type TrendPoint struct {
	ScanID string
	// Date is when the scan started.
	Date time.Time
	// Grade and Overall are as the scan's grade table showed them
	// ("B", "93.8"; Overall "-" when nothing applied).
	Grade, Overall string
}

// opsWords are the headings of the trend and the remediation plan.
type opsWords struct {
	Trend, TrendLabel, Plan, Status, Who, Item, Due, Reason, Note, NoPromises string
}

var opsWordsByLang = map[string]opsWords{
	"en": {Trend: "Trend over the scans of the history", TrendLabel: "overall rate of %s over %d scans",
		Plan: "Remediation plan", Status: "status", Who: "who", Item: "item", Due: "due", Reason: "reason", Note: "note",
		NoPromises: "No promise of this report's organisations in the plan."},
	"ja": {Trend: "履歴のスキャンにおける推移", TrendLabel: "%sの実施率の推移（%d回のスキャン）",
		Plan: "対応完了予定", Status: "状況", Who: "対象", Item: "項目", Due: "予定日", Reason: "理由", Note: "備考",
		NoPromises: "この報告の組織の対応完了予定はない。"},
}

func opsWordsFor(lang string) opsWords {
	if w, ok := opsWordsByLang[lang]; ok {
		return w
	}
	return opsWordsByLang["en"]
}

// trendView is an organisation's trend as an inline SVG chart: the
// overall rate of each scan, oldest on the left, with the 60, 80 and
// 100 % lines of the grades.
type trendView struct {
	W, H   int
	Label  string
	Points string
	Dots   []trendDot
	Grid   []trendLine
}

type trendDot struct {
	X, Y, TextY int
	Grade       string
	Title       string
}

type trendLine struct {
	Y, X2 int
	Label string
}

// Chart geometry: the plot's top, its height (100 %), the left margin
// and the distance between two scans.
const (
	trendTop, trendPlot, trendLeft, trendStep = 14, 80, 34, 56
)

func trendY(percent float64) int { return trendTop + int((100-percent)*trendPlot/100+0.5) }

// trendOf draws one organisation's points; nil when there are none.
func trendOf(org string, pts []TrendPoint, lang string) *trendView {
	if len(pts) == 0 {
		return nil
	}
	t := &trendView{W: trendLeft + trendStep*len(pts), H: trendTop + trendPlot + 22,
		Label: fmt.Sprintf(opsWordsFor(lang).TrendLabel, org, len(pts))}
	for _, p := range []float64{100, 80, 60} {
		t.Grid = append(t.Grid, trendLine{Y: trendY(p), X2: t.W - 4, Label: strconv.Itoa(int(p))})
	}
	var line []string
	for i, p := range pts {
		x := trendLeft + trendStep*i + trendStep/2
		d := trendDot{X: x, Y: trendY(0), TextY: trendTop + trendPlot + 16, Grade: p.Grade,
			Title: fmt.Sprintf("%s %s: %s %s %%", p.Date.UTC().Format(time.DateOnly), p.ScanID, p.Grade, p.Overall)}
		if v, err := strconv.ParseFloat(p.Overall, 64); err == nil {
			d.Y = trendY(v)
			line = append(line, fmt.Sprintf("%d,%d", x, d.Y))
		}
		t.Dots = append(t.Dots, d)
	}
	t.Points = strings.Join(line, " ")
	return t
}

// planRow is one promise as the report lists it.
type planRow struct {
	Status                              remediation.Status
	Label, Who, Item, Due, Reason, Note string
}

// planRows lists the promises the report's organisations made, in the
// order given (remediation.Plan.Check: overdue first). A promise of a
// server belongs to the server's organisation.
func (v *view) planRows(promises []remediation.Checked) []planRow {
	orgOf := map[string]string{}
	for _, s := range v.in.Servers {
		orgOf[s.ID] = s.Org
	}
	var out []planRow
	for _, p := range promises {
		org := p.Org
		if p.Server != "" {
			org = orgOf[p.Server]
		}
		if v.in.Org != "" && org != v.in.Org {
			continue
		}
		out = append(out, planRow{Status: p.Status, Label: p.Status.Label(v.in.Lang), Who: p.Who(), Item: p.Item,
			Due: p.Due, Reason: p.Reason, Note: p.Note})
	}
	return out
}

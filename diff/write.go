package diff

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/internal/textable"
	"github.com/kensa-inspect/kensa/remediation"
	"github.com/kensa-inspect/kensa/scoring"
)

// words are the headings of a diff for people, in one language.
type words struct {
	Title, Old, New, Scan, Started, AsOf, Servers, Partial      string
	JudgeSame, JudgeRegraded, JudgeDiffers, JudgeGiven          string
	Orgs, Org, Grade, Overall, Change, Cause                    string
	ServerItems, NewlyFailing, NewlyPassing, BecameUnknown      string
	Added, Gone, NewUndeclared, NewDiscrepancies, Promises      string
	Who, Item, Due, Status, Reason, Note, Probe, Declared, None string
	Regressions, NoRegression, NoChange                         string
}

var wordsByLang = map[string]*words{
	"en": {Title: "kensa diff", Old: "old", New: "new", Scan: "scan", Started: "started", AsOf: "evaluated as of", Servers: "servers", Partial: "PARTIAL",
		JudgeSame:     "both scans were judged alike: every change is what a server did",
		JudgeRegraded: "re-graded under one judge (the scans were judged with different %s): every change is what a server did",
		JudgeDiffers:  "the scans were judged with different %s and could not be re-graded under one judge: every change says \"rules changed\"",
		JudgeGiven:    "both scans re-graded under the judge given on the command line: every change is what a server did",
		Orgs:          "organisations", Org: "organisation", Grade: "grade", Overall: "overall", Change: "change", Cause: "cause",
		ServerItems: "servers", NewlyFailing: "newly failing", NewlyPassing: "newly passing", BecameUnknown: "became unknown",
		Added: "servers added", Gone: "servers gone", NewUndeclared: "new undeclared services", NewDiscrepancies: "new discrepancies",
		Promises: "remediation plan", Who: "who", Item: "item", Due: "due", Status: "status", Reason: "reason", Note: "note",
		Probe: "probe", Declared: "declared", None: "none",
		Regressions: "got worse (%d)", NoRegression: "nothing got worse", NoChange: "no item changed"},
	"ja": {Title: "kensa 差分", Old: "前回", New: "今回", Scan: "スキャン", Started: "開始", AsOf: "評価日", Servers: "台数", Partial: "PARTIAL（一部のみ）",
		JudgeSame:     "両スキャンは同じ判定基準で判定済み：変化はすべてサーバ側の変化",
		JudgeRegraded: "同じ判定基準で再判定済み（%sが異なっていた）：変化はすべてサーバ側の変化",
		JudgeDiffers:  "両スキャンの%sが異なり、同じ判定基準で再判定できない：変化はすべて「rules changed」（判定基準の変更）",
		JudgeGiven:    "両スキャンをコマンドラインで指定した判定基準で再判定済み：変化はすべてサーバ側の変化",
		Orgs:          "組織", Org: "組織", Grade: "総合評価", Overall: "実施率", Change: "増減", Cause: "原因",
		ServerItems: "サーバ", NewlyFailing: "新たに不適合", NewlyPassing: "新たに適合", BecameUnknown: "確認不能に",
		Added: "追加されたサーバ", Gone: "なくなったサーバ", NewUndeclared: "新たな未申告サービス", NewDiscrepancies: "新たな申告との相違",
		Promises: "対応完了予定", Who: "対象", Item: "項目", Due: "予定日", Status: "状況", Reason: "理由", Note: "備考",
		Probe: "実測", Declared: "申告", None: "なし",
		Regressions: "悪化（%d件）", NoRegression: "悪化なし", NoChange: "変化した項目なし"},
}

func wordsFor(lang string) *words {
	if w, ok := wordsByLang[lang]; ok {
		return w
	}
	return wordsByLang["en"]
}

func (d *Diff) judgeLine(w *words) string {
	differ := strings.Join(d.Differ, ", ")
	switch {
	case d.Cause == RulesChanged:
		return fmt.Sprintf(w.JudgeDiffers, differ)
	case d.Regraded && differ != "":
		return fmt.Sprintf(w.JudgeRegraded, differ)
	case d.Regraded:
		return w.JudgeGiven
	}
	return w.JudgeSame
}

func (s ScanInfo) line(w *words, which string) string {
	out := fmt.Sprintf("%-4s %s %s (%s), %s %s, %s %d", which, w.Scan, orDash(s.ScanID), s.Name, w.Started,
		s.Started.UTC().Format(time.RFC3339), w.Servers, s.Records)
	if s.AsOf != "" {
		out += fmt.Sprintf(", %s %s", w.AsOf, s.AsOf)
	}
	if s.Partial {
		out += " — " + w.Partial
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteJSON writes the diff as one JSON object.
func (d *Diff) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// itemLine shows one item change for people.
func (d *Diff) itemLine(c ItemChange, lang string) string {
	name := c.Item
	if it, ok := d.catalog.Item(c.Item); ok {
		name += " " + it.Name(lang)
	}
	return fmt.Sprintf("%s: %s → %s (%s) — %s", name, c.From, c.To, c.Cause, c.Reason)
}

// serverGroups lists the item changes of a server under their heading.
func (d *Diff) serverGroups(s ServerChange, w *words) [][2]any {
	return [][2]any{{w.NewlyFailing, s.NewlyFailing}, {w.NewlyPassing, s.NewlyPassing}, {w.BecameUnknown, s.BecameUnknown}}
}

func promiseWho(c remediation.Checked) string { return c.Who() }

// WriteText writes the diff for a terminal, with headings in lang.
func (d *Diff) WriteText(w io.Writer, lang string) error {
	wd := wordsFor(lang)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n%s\n%s\n\n%s\n", wd.Title, d.Old.line(wd, wd.Old), d.New.line(wd, wd.New), d.judgeLine(wd), wd.Orgs)
	t := textable.New(2, 3)
	t.Row(wd.Org, wd.Grade, wd.Overall, wd.Change)
	for _, o := range d.Orgs {
		t.Row(o.Org, o.OldGrade+" → "+o.NewGrade, o.OldOverall+" → "+o.NewOverall, o.Delta)
	}
	t.Write(&b)
	fmt.Fprintf(&b, "\n%s\n", wd.ServerItems)
	if len(d.Servers) == 0 {
		fmt.Fprintf(&b, "  %s\n", wd.NoChange)
	}
	for _, s := range d.Servers {
		fmt.Fprintf(&b, "  %s (%s / %s)\n", s.ID, s.Org, s.Unit)
		for _, g := range d.serverGroups(s, wd) {
			for _, c := range g[1].([]ItemChange) {
				fmt.Fprintf(&b, "    %s  %s\n", g[0], d.itemLine(c, lang))
			}
		}
	}
	lists := []struct {
		head  string
		lines []string
	}{{wd.Added, refs(d.Added)}, {wd.Gone, refs(d.Gone)}, {wd.NewUndeclared, undeclared(d.NewUndeclared)}, {wd.NewDiscrepancies, d.discrepancies(wd)}}
	for _, l := range lists {
		fmt.Fprintf(&b, "\n%s\n", l.head)
		if len(l.lines) == 0 {
			fmt.Fprintf(&b, "  %s\n", wd.None)
		}
		for _, x := range l.lines {
			fmt.Fprintf(&b, "  %s\n", x)
		}
	}
	if d.Promises != nil {
		fmt.Fprintf(&b, "\n%s\n", wd.Promises)
		t := textable.New()
		t.Row(wd.Status, wd.Who, wd.Item, wd.Due, wd.Reason, wd.Note)
		for _, p := range d.Promises {
			t.Row(p.Status.Label(lang), promiseWho(p), p.Item, p.Due, p.Reason, p.Note)
		}
		t.Write(&b)
	}
	b.WriteString("\n")
	if d.Regression() {
		fmt.Fprintf(&b, wd.Regressions+"\n", len(d.Regressions))
		for _, r := range d.Regressions {
			fmt.Fprintf(&b, "  %s\n", r)
		}
	} else {
		fmt.Fprintf(&b, "%s\n", wd.NoRegression)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func refs(rs []ServerRef) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s %s (%s / %s)", r.ID, r.Host, r.Org, r.Unit))
	}
	return out
}

func undeclared(us []Undeclared) []string {
	var out []string
	for _, u := range us {
		out = append(out, fmt.Sprintf("%s (%s): %s", u.ID, u.Org, strings.Join(u.Services, ", ")))
	}
	return out
}

func (d *Diff) discrepancies(wd *words) []string {
	var out []string
	for _, x := range d.NewDiscrepancies {
		out = append(out, fmt.Sprintf("%s (%s) %s: %s %s, %s %s — %s", x.ID, x.Org, x.Item, wd.Probe, x.Probed, wd.Declared, x.Declared, x.Reason))
	}
	return out
}

// mdCell escapes a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// WriteMarkdown writes the diff as Markdown, with headings in lang.
func (d *Diff) WriteMarkdown(w io.Writer, lang string) error {
	wd := wordsFor(lang)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n- %s\n- %s\n- %s\n\n## %s\n\n| %s | %s | %s | %s |\n|---|---|---:|---:|\n",
		wd.Title, mdCell(d.Old.line(wd, wd.Old)), mdCell(d.New.line(wd, wd.New)), mdCell(d.judgeLine(wd)), wd.Orgs, wd.Org, wd.Grade, wd.Overall, wd.Change)
	for _, o := range d.Orgs {
		fmt.Fprintf(&b, "| %s | %s → %s | %s → %s | %s |\n", mdCell(o.Org), o.OldGrade, o.NewGrade, o.OldOverall, o.NewOverall, o.Delta)
	}
	fmt.Fprintf(&b, "\n## %s\n\n", wd.ServerItems)
	if len(d.Servers) == 0 {
		fmt.Fprintf(&b, "%s\n", wd.NoChange)
	} else {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n|---|---|---|---|\n", wd.ServerItems, wd.Change, wd.Item, wd.Reason)
		for _, s := range d.Servers {
			for _, g := range d.serverGroups(s, wd) {
				for _, c := range g[1].([]ItemChange) {
					fmt.Fprintf(&b, "| %s | %s | %s %s → %s (%s) | %s |\n", mdCell(s.ID), g[0], c.Item, c.From, c.To, c.Cause, mdCell(c.Reason))
				}
			}
		}
	}
	for _, l := range []struct {
		head  string
		lines []string
	}{{wd.Added, refs(d.Added)}, {wd.Gone, refs(d.Gone)}, {wd.NewUndeclared, undeclared(d.NewUndeclared)}, {wd.NewDiscrepancies, d.discrepancies(wd)}} {
		fmt.Fprintf(&b, "\n## %s\n\n", l.head)
		if len(l.lines) == 0 {
			fmt.Fprintf(&b, "%s\n", wd.None)
		}
		for _, x := range l.lines {
			fmt.Fprintf(&b, "- %s\n", mdCell(x))
		}
	}
	if d.Promises != nil {
		fmt.Fprintf(&b, "\n## %s\n\n| %s | %s | %s | %s | %s | %s |\n|---|---|---|---|---|---|\n", wd.Promises, wd.Status, wd.Who, wd.Item, wd.Due, wd.Reason, wd.Note)
		for _, p := range d.Promises {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", p.Status.Label(lang), mdCell(promiseWho(p)), p.Item, p.Due, mdCell(p.Reason), mdCell(p.Note))
		}
	}
	if d.Regression() {
		fmt.Fprintf(&b, "\n## "+wd.Regressions+"\n\n", len(d.Regressions))
		for _, r := range d.Regressions {
			fmt.Fprintf(&b, "- %s\n", mdCell(r))
		}
	} else {
		fmt.Fprintf(&b, "\n%s\n", wd.NoRegression)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

//go:embed diff.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("diff").Parse(htmlSource))

// htmlItem is one item change as the page shows it.
type htmlItem struct {
	Server, Kind, Line string
	Worse              bool
}

// WriteHTML writes the diff as a self-contained HTML page (no script, no
// external resource, the Content-Security-Policy of the report), with
// headings in lang.
func (d *Diff) WriteHTML(w io.Writer, lang string) error {
	wd := wordsFor(lang)
	var items []htmlItem
	for _, s := range d.Servers {
		for i, g := range d.serverGroups(s, wd) {
			for _, c := range g[1].([]ItemChange) {
				items = append(items, htmlItem{Server: s.ID, Kind: g[0].(string), Line: d.itemLine(c, lang),
					Worse: i == 0 || (i == 2 && c.From == scoring.Pass)})
			}
		}
	}
	var promises []htmlPromise
	for _, p := range d.Promises {
		promises = append(promises, htmlPromise{Checked: p, Label: p.Status.Label(lang), Who: promiseWho(p)})
	}
	data := map[string]any{
		"Lang": lang, "W": wd, "D": d, "OldLine": d.Old.line(wd, wd.Old), "NewLine": d.New.line(wd, wd.New), "Judge": d.judgeLine(wd),
		"Items": items, "Added": refs(d.Added), "Gone": refs(d.Gone), "Undeclared": undeclared(d.NewUndeclared),
		"Discrepancies": d.discrepancies(wd), "Promises": promises, "HasPlan": d.Promises != nil,
		"RegressionHead": fmt.Sprintf(wd.Regressions, len(d.Regressions)),
	}
	var b strings.Builder
	if err := htmlTemplate.Execute(&b, data); err != nil {
		return fmt.Errorf("html diff: %w", err)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// htmlPromise is one promise as the page shows it.
type htmlPromise struct {
	remediation.Checked
	Label, Who string
}

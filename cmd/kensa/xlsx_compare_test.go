package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// workbookText is what the test states itself of the workbook in each
// language: sheet names, headings and words.
var workbookText = map[string]struct {
	sheets                         []string // grades, item rates, questionnaire, findings, scan
	grades, questionnaire, finding []string
	words                          map[string]string
}{
	"ja": {
		sheets:        []string{"総合評価", "項目別実施率", "調査票", "指摘事項", "検査の概要"},
		grades:        []string{"組織", "総合評価", "実施率", "M 不正プログラム対策", "S サーバ管理", "A 不正アクセス対策", "P 情報保護対策", "台数", "記録なし", "確認不能", "例外"},
		questionnaire: []string{"組織", "カテゴリー", "項目", "項目名", "評価対象", "対象数", "実施数", "実施率", "実施数（測定で確認）", "実施数（申告による）", "未実施", "確認不能", "対象外", "相違", "例外"},
		finding:       []string{"組織", "部局", "サーバ", "ホスト", "項目", "項目名", "判定", "根拠", "理由", "証跡（1 行目）"},
		words: map[string]string{"fail": "未実施", "unknown": "確認不能", "probe": "測定", "declared": "申告",
			"norecord": "記録なし：スキャンされていない", "kensa": "kensa のバージョン", "scan": "スキャン ID", "advisories": "脆弱性情報の時点",
			"asof": "評価基準日", "digest": "インベントリのダイジェスト", "source": "スキャナの送信元アドレス"},
	},
	"en": {
		sheets:        []string{"Grades", "Item rates", "Questionnaire", "Findings", "Scan"},
		grades:        []string{"group", "grade", "overall", "M Malware countermeasures", "S Server management", "A Unauthorised-access countermeasures", "P Information protection", "servers", "missing", "unknown", "exceptions"},
		questionnaire: []string{"org", "category", "item", "item_name", "graded", "applicable", "implemented", "rate", "verified", "declared", "fail", "unknown", "na", "discrepancies", "exceptions"},
		finding:       []string{"org", "unit", "server", "host", "item", "item name", "outcome", "source", "reason", "first evidence line"},
		words: map[string]string{"fail": "fail", "unknown": "unknown", "probe": "probe", "declared": "declared",
			"norecord": "no record: the server was not scanned", "kensa": "kensa version", "scan": "scan id", "advisories": "advisory data as of",
			"asof": "evaluated as of", "digest": "inventory digest", "source": "scanner source address"},
	},
}

// expectWorkbook builds every sheet the workbook must hold from the JSON
// of 'kensa grade' and 'kensa questionnaire' and from the records and
// inventory themselves. invPath "" means no inventory.
func expectWorkbook(t *testing.T, resultsPath, invPath, lang string) map[string][][]xcell {
	t.Helper()
	text := workbookText[lang]
	args := func(cmd ...string) []string {
		return append(cmd, resultsPath, "--format", "json", "--lang", lang, "--inventory", invPath)
	}
	var g struct {
		Groups []struct {
			Key, Org, Grade string
			Overall         *string
			AWithheld       bool `json:"a_withheld"`
			Categories      map[string]string
			Items           map[string]struct{ Rate *string }
			Servers         int
			Missing         int
			Unknowns        int
			Exceptions      int
		}
		Scan results.ScanMeta
	}
	runJSON(t, &g, args("grade")...)
	var q struct {
		Rows []struct {
			Org           string `json:"org"`
			Category      string `json:"category"`
			Item          string `json:"item"`
			ItemName      string `json:"item_name"`
			Graded        bool   `json:"graded"`
			Applicable    int    `json:"applicable"`
			Implemented   int    `json:"implemented"`
			Rate          *string
			Verified      int `json:"verified"`
			Declared      int `json:"declared"`
			Fail          int `json:"fail"`
			Unknown       int `json:"unknown"`
			NA            int `json:"na"`
			Discrepancies int `json:"discrepancies"`
			Exceptions    int `json:"exceptions"`
		}
	}
	runJSON(t, &q, args("questionnaire")...)

	out := map[string][][]xcell{}
	// Grades and item rates.
	grades := [][]xcell{strCells(text.grades...)}
	rateHead := []xcell{strCell(text.grades[0])}
	var order []scoring.Item
	for _, graded := range []bool{true, false} {
		for _, it := range scoring.MailCatalog.Items {
			if it.Graded == graded {
				order = append(order, it)
				rateHead = append(rateHead, strCell(it.Code+" "+it.Name(lang)))
			}
		}
	}
	rates := [][]xcell{rateHead}
	for _, gr := range g.Groups {
		grade := gr.Grade
		if gr.AWithheld {
			grade += "*"
		}
		row := []xcell{strCell(gr.Key), strCell(grade), rateCell(gr.Overall)}
		for _, c := range []string{"M", "S", "A", "P"} {
			v := gr.Categories[c]
			row = append(row, rateCell(&v))
		}
		grades = append(grades, append(row, numCell(gr.Servers), numCell(gr.Missing), numCell(gr.Unknowns), numCell(gr.Exceptions)))
		rrow := []xcell{strCell(gr.Key)}
		for _, it := range order {
			rrow = append(rrow, rateCell(gr.Items[it.Code].Rate))
		}
		rates = append(rates, rrow)
	}
	out[text.sheets[0]], out[text.sheets[1]] = grades, rates
	// The questionnaire.
	qs := [][]xcell{strCells(text.questionnaire...)}
	for _, r := range q.Rows {
		qs = append(qs, []xcell{strCell(r.Org), strCell(r.Category), strCell(r.Item), strCell(r.ItemName), boolCell(r.Graded),
			numCell(r.Applicable), numCell(r.Implemented), rateCell(r.Rate), numCell(r.Verified), numCell(r.Declared),
			numCell(r.Fail), numCell(r.Unknown), numCell(r.NA), numCell(r.Discrepancies), numCell(r.Exceptions)})
	}
	out[text.sheets[2]] = qs
	// Findings, from the records: organisations in the table's order,
	// servers in the inventory's order (the records' without one).
	set, err := results.ReadFile(resultsPath)
	if err != nil {
		t.Fatal(err)
	}
	type srv struct {
		id, org, unit string
		rec           *results.Record
		services      map[string]bool
	}
	var servers []srv
	byID := map[string]*results.Record{}
	for _, r := range set.Records {
		byID[r.Server.ID] = r
	}
	if invPath != "" {
		inv, err := inventory.Load(invPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range inv.Servers {
			servers = append(servers, srv{s.ID, s.Org, s.Unit, byID[s.ID], s.ServiceSet()})
		}
	} else {
		for _, r := range set.Records {
			servers = append(servers, srv{r.Server.ID, r.Server.Org, r.Server.Unit, r, nil})
		}
	}
	fs := [][]xcell{strCells(text.finding...)}
	for _, gr := range g.Groups {
		for _, s := range servers {
			if s.org != gr.Key {
				continue
			}
			for _, it := range scoring.MailCatalog.Items {
				if s.rec == nil {
					if it.Applies(s.services) {
						fs = append(fs, strCells(s.org, s.unit, s.id, "", it.Code, it.Name(lang), text.words["unknown"], "-", text.words["norecord"], ""))
					}
					continue
				}
				v := s.rec.Items[it.Code]
				if v.Outcome != scoring.Fail && v.Outcome != scoring.Unknown {
					continue
				}
				first := ""
				if len(v.Evidence) > 0 {
					first = v.Evidence[0]
				}
				fs = append(fs, strCells(s.org, s.unit, s.id, s.rec.Server.Host, it.Code, it.Name(lang),
					text.words[string(v.Outcome)], text.words[string(v.Source)], v.Reason, first))
			}
		}
	}
	out[text.sheets[3]] = fs
	// The scan: the rows the test checks by label (the sheet has more).
	out[text.sheets[4]] = [][]xcell{
		strCells(text.words["kensa"], g.Scan.KensaVersion), strCells(text.words["scan"], g.Scan.ScanID),
		strCells(text.words["advisories"], g.Scan.AdvisoriesAsOf), strCells(text.words["asof"], g.Scan.AsOf),
		strCells(text.words["digest"], orDashT(g.Scan.InventoryDigest)), strCells(text.words["source"], orDashT(g.Scan.SourceAddress)),
	}
	return out
}

func orDashT(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// compareWorkbook checks one reader's sheets against the expectation:
// every cell of every sheet (the scan sheet by label), rate cells as
// numbers with one decimal, frozen header rows, the autofilter of the
// findings sheet, column widths fitted to East Asian text, the active
// sheet.
func compareWorkbook(t *testing.T, reader string, sheets []xsheet, active string, want map[string][][]xcell, lang, wantActive string) {
	t.Helper()
	names := workbookText[lang].sheets
	if len(sheets) != len(names) {
		t.Fatalf("%s: %d sheets, want %v", reader, len(sheets), names)
	}
	if active != wantActive {
		t.Errorf("%s: the workbook opens on %q, want %q", reader, active, wantActive)
	}
	for i, s := range sheets {
		if s.Name != names[i] {
			t.Errorf("%s: sheet %d is %q, want %q", reader, i, s.Name, names[i])
			continue
		}
		if s.Freeze != "A2" {
			t.Errorf("%s: %s: header row not frozen (%q)", reader, s.Name, s.Freeze)
		}
		exp := want[s.Name]
		if i == 4 {
			got := map[string]string{}
			for _, row := range s.Rows {
				if len(row) == 2 {
					got[row[0].Value] = row[1].Value
				}
			}
			for _, row := range exp {
				if got[row[0].Value] != row[1].Value {
					t.Errorf("%s: %s: %s = %q, want %q", reader, s.Name, row[0].Value, got[row[0].Value], row[1].Value)
				}
			}
			continue
		}
		if len(s.Rows) != len(exp) {
			t.Errorf("%s: %s: %d rows, want %d", reader, s.Name, len(s.Rows), len(exp))
		}
		widest := map[int]int{}
		for r := 0; r < min(len(s.Rows), len(exp)); r++ {
			if len(s.Rows[r]) != len(exp[r]) {
				t.Errorf("%s: %s row %d: %d cells %v, want %d %v", reader, s.Name, r+1, len(s.Rows[r]), s.Rows[r], len(exp[r]), exp[r])
				continue
			}
			for c, got := range s.Rows[r] {
				w := exp[r][c]
				if !sameCell(got, w) {
					t.Errorf("%s: %s row %d column %d: %v, want %v", reader, s.Name, r+1, c+1, got, w)
				}
				if w.Format != "" && got.Format != w.Format {
					t.Errorf("%s: %s row %d column %d: number format %q, want %q", reader, s.Name, r+1, c+1, got.Format, w.Format)
				}
				if w.Shown != "" && got.Shown != "" && got.Shown != w.Shown {
					t.Errorf("%s: %s row %d column %d: shown %q, want %q", reader, s.Name, r+1, c+1, got.Shown, w.Shown)
				}
				if r > 0 {
					shown := w.Value
					if w.Shown != "" {
						shown = w.Shown
					}
					widest[c] = max(widest[c], runewidth.StringWidth(shown))
				}
			}
		}
		// Columns are as wide as their East Asian text (a Japanese
		// character counts two), up to a cap.
		for c, wd := range widest {
			col := string(rune('A' + c))
			if got := s.Widths[col]; got < float64(min(wd, 85)) {
				t.Errorf("%s: %s column %s is %.1f wide, its text needs %d", reader, s.Name, col, got, wd)
			}
		}
		if i == 3 && reader == "openpyxl" {
			if wantRef := fmt.Sprintf("A1:J%d", max(len(exp), 2)); s.Filter != wantRef {
				t.Errorf("%s: %s: autofilter %q, want %q", reader, s.Name, s.Filter, wantRef)
			}
		}
	}
}

// checkWorkbook writes the workbook with args and reads it back with
// both readers.
func checkWorkbook(t *testing.T, resultsPath, invPath, lang string, questionnaire bool) {
	t.Helper()
	book := filepath.Join(t.TempDir(), "book.xlsx")
	args := []string{"report", resultsPath, "--xlsx", book, "--lang", lang, "--inventory", invPath}
	wantActive := workbookText[lang].sheets[0]
	if questionnaire {
		args[0] = "questionnaire"
		wantActive = workbookText[lang].sheets[2]
	}
	code, out, errs := runKensa(t, args...)
	if code != 0 || out != "" {
		t.Fatalf("%v: exit %d, stdout %q: %s", args, code, out, errs)
	}
	want := expectWorkbook(t, resultsPath, invPath, lang)
	sheets, active := readExcelize(t, book)
	compareWorkbook(t, "excelize", sheets, active, want, lang, wantActive)
	sheets, active = readOpenpyxl(t, book)
	compareWorkbook(t, "openpyxl", sheets, active, want, lang, wantActive)
}

// TestWorkbookTwoReaders: the workbooks of kensa report and kensa
// questionnaire, read back by excelize and by openpyxl, hold exactly what
// the JSON outputs and the records say, in Japanese and in English.
func TestWorkbookTwoReaders(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		t.Run("report-"+lang, func(t *testing.T) { checkWorkbook(t, sampleResults, sampleInventory, lang, false) })
	}
	t.Run("questionnaire-ja", func(t *testing.T) { checkWorkbook(t, sampleResults, sampleInventory, "ja", true) })
}

// TestWorkbookDisplayRule: one organisation of 625 servers where one
// fails P1 has an overall rate of exactly 99.96 %: the workbook shows
// 99.9 beside its B, never 100.0, as kensa grade does. The failing
// server's reason and evidence look like formulas: they stay text.
func TestWorkbookDisplayRule(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nearly.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := results.ScanMeta{KensaVersion: "test", ScanID: "nearly", InventoryServers: 625, AdvisoriesAsOf: "2026-11-01", AsOf: "2026-11-01"}
	for i := range 625 {
		rec := results.Record{Schema: results.Schema, Scan: meta, DurationMS: 5,
			Started: time.Date(2026, 11, 1, 0, 0, i%60, 0, time.UTC),
			Server:  results.ServerRef{ID: fmt.Sprintf("mx-%03d", i), Org: "ほぼ完璧省", Unit: "本省", Host: fmt.Sprintf("192.0.2.%d", i%250)},
			Items:   map[string]scoring.Verdict{}, Observations: json.RawMessage("{}")}
		for _, it := range scoring.MailCatalog.Items {
			rec.Items[it.Code] = scoring.Verdict{Outcome: scoring.Pass, Source: scoring.FromProbe, Reason: "verified by probe"}
		}
		if i == 7 {
			rec.Items["P1"] = scoring.Verdict{Outcome: scoring.Fail, Source: scoring.FromProbe,
				Reason:   `=HYPERLINK("http://x.example/","click")`,
				Evidence: []string{`+cmd|' /C calc'!A0`, "=1+1"}}
		}
		b, err := results.Encode(&rec)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(b)
	}
	f.Close()
	var g struct {
		Groups []struct{ Grade, Overall string }
	}
	runJSON(t, &g, "grade", path, "--format", "json")
	if len(g.Groups) != 1 || g.Groups[0].Grade != "B" || g.Groups[0].Overall != "99.9" {
		t.Fatalf("kensa grade: %+v, want B 99.9", g.Groups)
	}
	checkWorkbook(t, path, "", "ja", false)
	// And the cell itself, as Excel shows it.
	book := filepath.Join(t.TempDir(), "b.xlsx")
	if code, _, errs := runKensa(t, "report", path, "--xlsx", book); code != 0 {
		t.Fatal(errs)
	}
	sheets, _ := readExcelize(t, book)
	row := sheets[0].Rows[1]
	if row[1].Value != "B" || row[2].Shown != "99.9" || strings.Contains(row[2].Value, "99.96") {
		t.Errorf("grades row %v: overall shown %q", row, row[2].Shown)
	}
}

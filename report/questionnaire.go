package report

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"

	"github.com/kensa-inspect/kensa/scoring"
)

// QuestionnaireRow is one organisation × item line of the inspection
// questionnaire (調査票): how many servers the item applies to (対象数),
// how many implement it (実施数), and how those counts were verified.
type QuestionnaireRow struct {
	Org      string `json:"org"`
	Category string `json:"category"`
	Item     string `json:"item"`
	ItemName string `json:"item_name"`
	Graded   bool   `json:"graded"`
	// Applicable is 対象数 (pass + fail + unknown); Implemented is 実施数
	// (pass).
	Applicable  int `json:"applicable"`
	Implemented int `json:"implemented"`
	// Rate is Implemented/Applicable under the table's unknown policy,
	// formatted; nil when nothing applies.
	Rate *string `json:"rate"`
	// Verified counts passes measured by a probe, Declared passes taken
	// from declarations.
	Verified int `json:"verified"`
	Declared int `json:"declared"`
	Fail     int `json:"fail"`
	Unknown  int `json:"unknown"`
	NA       int `json:"na"`
	// Discrepancies counts servers where probe and declaration disagree.
	Discrepancies int `json:"discrepancies"`
	Exceptions    int `json:"exceptions"`
}

// Questionnaire computes the rows, organisations in order of appearance
// and items in catalog order.
func Questionnaire(in Input) []QuestionnaireRow {
	tab := scoring.Grade(in.Catalog, in.Servers, scoring.ByOrg, in.Policy, in.Unattributed)
	var rows []QuestionnaireRow
	for _, g := range tab.Groups {
		for _, ir := range g.Items {
			cat := ir.Item.Category
			if c, ok := in.Catalog.Category(cat); ok {
				cat = c.Name(in.Lang)
			} else if !ir.Item.Graded {
				cat = labelsFor(in.Lang).SupplementaryCategory
			}
			rows = append(rows, QuestionnaireRow{
				Org: g.Org, Category: cat, Item: ir.Item.Code, ItemName: ir.Item.Name(in.Lang), Graded: ir.Item.Graded,
				Applicable: ir.Tally.Applicable(), Implemented: ir.Tally.Pass, Rate: fmtPtr(scoring.FormatRate(ir.Rate)),
				Verified: ir.Tally.PassProbe, Declared: ir.Tally.PassDeclared, Fail: ir.Tally.Fail,
				Unknown: ir.Tally.Unknown, NA: ir.Tally.NA, Discrepancies: ir.Tally.Discrepancies, Exceptions: ir.Tally.Exceptions,
			})
		}
	}
	return rows
}

// UTF8BOM starts files meant for Excel in Japan, which otherwise reads
// CSV as Shift_JIS.
const UTF8BOM = "\ufeff"

// questionnaireKeys are the column names of plain CSV, the same as the
// JSON keys of QuestionnaireRow: fixed, for programs.
var questionnaireKeys = []string{"org", "category", "item", "item_name", "graded", "applicable", "implemented", "rate",
	"verified", "declared", "fail", "unknown", "na", "discrepancies", "exceptions"}

// questionnaireColumns are the column headings of the questionnaire for
// people, in the words of l.
func questionnaireColumns(l *labels) []string {
	return []string{l.Org, l.QCategory, l.Item, l.QItemName, l.QGraded, l.QApplicable, l.QImplemented, l.QRate,
		l.QVerified, l.QDeclared, l.QFail, l.QUnknown, l.QNA, l.QDiscrepancies, l.QExceptions}
}

// WriteQuestionnaireCSV writes the rows as CSV. Plain CSV is for
// programs: English column names, whatever the language. With excel it
// is for people opening it in Excel in Japan: a UTF-8 byte order mark,
// CRLF lines and the column headings of lang.
func WriteQuestionnaireCSV(w io.Writer, rows []QuestionnaireRow, excel bool, lang string) error {
	head := questionnaireKeys
	if excel {
		if _, err := io.WriteString(w, UTF8BOM); err != nil {
			return err
		}
		head = questionnaireColumns(labelsFor(lang))
	}
	cw := csv.NewWriter(w)
	if excel {
		cw.UseCRLF = true
	}
	cw.Write(head)
	for _, r := range rows {
		rate := ""
		if r.Rate != nil {
			rate = *r.Rate
		}
		cw.Write([]string{r.Org, r.Category, r.Item, r.ItemName, strconv.FormatBool(r.Graded),
			strconv.Itoa(r.Applicable), strconv.Itoa(r.Implemented), rate,
			strconv.Itoa(r.Verified), strconv.Itoa(r.Declared), strconv.Itoa(r.Fail), strconv.Itoa(r.Unknown),
			strconv.Itoa(r.NA), strconv.Itoa(r.Discrepancies), strconv.Itoa(r.Exceptions)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteQuestionnaireJSON writes the rows with the discrepancies behind
// them and the table's policy. JSON is for programs: never a byte order
// mark, English keys.
func WriteQuestionnaireJSON(w io.Writer, in Input, rows []QuestionnaireRow) error {
	ds := Discrepancies(in.Results, in.Catalog)
	if ds == nil {
		ds = []Discrepancy{}
	}
	if rows == nil {
		rows = []QuestionnaireRow{}
	}
	out := struct {
		Catalog       string             `json:"catalog"`
		UnknownPolicy string             `json:"unknown_policy"`
		Partial       bool               `json:"partial"`
		Rows          []QuestionnaireRow `json:"rows"`
		Discrepancies []Discrepancy      `json:"discrepancies"`
	}{in.Catalog.Name, string(in.Policy), in.Partial(), rows, ds}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
